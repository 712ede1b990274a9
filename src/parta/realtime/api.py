"""Realtime API: the polling fallback for pages whose WebSocket cannot connect."""

from typing import Any

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema

from parta.api_errors import signed_in_person
from parta.realtime.selectors import catch_up

router = Router(tags=["realtime"])


class EventOut(Schema):
    seq: int
    kind: str
    payload: dict[str, Any]
    at: str


class EventsOut(Schema):
    events: list[EventOut]
    seq: int = Field(description="Номер, с которого спрашивать в следующий раз (after).")
    resync: bool = Field(
        description="Пропущенные события уже удалены: перезагрузите состояние и продолжайте с seq."
    )
    more: bool = Field(description="Есть ещё события: спросите снова сразу.")


@router.get("/events", response=EventsOut, summary="События после номера after")
def events(request: HttpRequest, after: int | None = Query(None, ge=0)) -> dict[str, Any]:
    """Everything after `after` for the signed-in person, as the WebSocket would send it;
    without `after`, no events and the current number to start from."""
    result = catch_up(signed_in_person(request), after)
    return {
        "events": [event.as_message() for event in result.events],
        "seq": result.seq,
        "resync": result.resync,
        "more": result.more,
    }

"""Reads of the event log: what a tab that was away has missed."""

import time
from collections.abc import Iterable
from dataclasses import dataclass

from django.core.cache import cache

from parta.accounts.models import Person
from parta.realtime.models import EventCursor, PersonEvent
from parta.realtime.services import focus_key

CATCH_UP_LIMIT = 500


def events_after(person: Person, after_seq: int, limit: int = CATCH_UP_LIMIT) -> list[PersonEvent]:
    """The person's events numbered above `after_seq`, oldest first, at most `limit`."""
    return list(
        PersonEvent.objects.filter(person=person, seq__gt=after_seq).order_by("seq")[:limit]
    )


def last_seq(person: Person) -> int:
    """The number of the person's newest event (0 before the first)."""
    return EventCursor.objects.filter(person=person).values_list("last_seq", flat=True).first() or 0


@dataclass(frozen=True)
class CatchUp:
    events: list[PersonEvent]
    # Where the client stands once it has taken `events`.
    seq: int
    # The events after the client's number were pruned (or the client claims a number
    # this log never reached): it must reload its state instead of replaying events.
    resync: bool
    # More events follow `seq`: ask again at once.
    more: bool


def catch_up(person: Person, after: int | None, limit: int = CATCH_UP_LIMIT) -> CatchUp:
    """What a client that last saw `after` needs next; `after=None` means "from now on"."""
    if after is None:
        return CatchUp(events=[], seq=last_seq(person), resync=False, more=False)
    events = events_after(person, after, limit + 1)
    if events and events[0].seq == after + 1:
        page = events[:limit]
        return CatchUp(events=page, seq=page[-1].seq, resync=False, more=len(events) > limit)
    newest = last_seq(person)
    if not events and newest == after:
        return CatchUp(events=[], seq=after, resync=False, more=False)
    return CatchUp(events=[], seq=newest, resync=True, more=False)


def focused_streams(people: Iterable[int]) -> dict[int, set[str]]:
    """The streams some live tab of each person shows with focus (services.set_focus), in
    one cache read; a person without such a tab is left out."""
    ids = list(people)
    stored = cache.get_many([focus_key(pk) for pk in ids])
    now = time.time()
    found: dict[int, set[str]] = {}
    for pk in ids:
        streams = {
            stream for stream, until in stored.get(focus_key(pk), {}).values() if until > now
        }
        if streams:
            found[pk] = streams
    return found

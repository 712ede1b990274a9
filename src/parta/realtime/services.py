"""Writes of the event log: publishing events to people, pruning old ones."""

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from parta.realtime.models import EventCursor, PersonEvent


def person_group(person_id: int) -> str:
    """The channel-layer group of one person's open tabs (one group per person, never per chat)."""
    return f"person-{person_id}"


def publish(person_ids: Iterable[int], kind: str, payload: dict) -> None:
    """Append an event to each person's log and, once the caller's transaction commits,
    push it to their open tabs. A rollback sends nothing and uses no sequence number.

    Sequence numbers come from one counter row per person (EventCursor), locked with
    SELECT ... FOR UPDATE in person order and then incremented with F() + 1 in the same
    transaction: concurrent publishers to the same person queue on that row on PostgreSQL
    (the lock order rules out deadlocks between multi-person publishes), and on SQLite
    BEGIN IMMEDIATE already serialises writers. MAX(seq) + 1 would race (two readers see
    the same maximum) and would restart numbering once old events are pruned.
    """
    ids = sorted(set(person_ids))
    if not ids:
        return
    # Through JSON once, so that the live copy is exactly what catch-up later reads back.
    body = json.loads(json.dumps(payload, cls=DjangoJSONEncoder))
    with transaction.atomic():
        EventCursor.objects.bulk_create(
            [EventCursor(person_id=pk) for pk in ids], ignore_conflicts=True
        )
        cursors = list(
            EventCursor.objects.select_for_update()
            .filter(person_id__in=ids)
            .order_by("person_id")
            .values_list("person_id", "last_seq")
        )
        EventCursor.objects.filter(person_id__in=ids).update(last_seq=F("last_seq") + 1)
        # Taken under the lock, so a person's events are numbered in time order too
        # (pruning by time then never leaves a hole in the kept numbers).
        moment = timezone.now()
        events = PersonEvent.objects.bulk_create(
            PersonEvent(person_id=pk, seq=last + 1, kind=kind, payload=body, created_at=moment)
            for pk, last in cursors
        )
        messages = [(event.person_id, event.as_message()) for event in events]
        # robust: the events are committed either way; a channel layer that is down must
        # not turn the caller's success into an error. Tabs catch up from the log.
        transaction.on_commit(lambda: _deliver(messages), robust=True)


def _deliver(messages: list[tuple[int, dict[str, Any]]]) -> None:
    channel_layer = get_channel_layer()
    if channel_layer is None:
        return

    async def send_all() -> None:
        for person_id, message in messages:
            await channel_layer.group_send(
                person_group(person_id), {"type": "person.event", "event": message}
            )

    async_to_sync(send_all)()


# Events older than this are deleted by the daily job (and `parta prune-events`).
EVENTS_KEPT_DAYS = 30


@transaction.atomic
def prune_events(older_than: datetime) -> int:
    """Delete events created before `older_than`; counters stay, so numbering never restarts.
    A tab that comes back from before the oldest kept event is told to resync."""
    deleted, _ = PersonEvent.objects.filter(created_at__lt=older_than).delete()
    return deleted

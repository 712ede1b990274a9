"""Writes of the event log: publishing events to people, pruning old ones."""

import asyncio
import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils import timezone

from parta.realtime.models import EventCursor, PersonEvent


def person_group(person_id: int) -> str:
    """The channel-layer group of one person's open tabs (one group per person, never per chat)."""
    return f"person-{person_id}"


def publish(people: Iterable[int] | QuerySet[Any, int], kind: str, payload: dict) -> None:
    """Append an event to each person's log and, once the caller's transaction commits,
    push it to their open tabs. A rollback sends nothing and uses no sequence number.

    `people` are person ids, or a query of them (`values_list("person_id", flat=True)`):
    a query is run inside the numbering statement itself, so a chat's members are read and
    numbered in one round trip whatever the chat's size.

    Sequence numbers come from one counter row per person (EventCursor), made or
    incremented by one INSERT … ON CONFLICT DO UPDATE … RETURNING in person order: the
    statement locks each row until the transaction ends, so concurrent publishers to the
    same person queue on that row on PostgreSQL (the person order rules out deadlocks
    between multi-person publishes), and on SQLite BEGIN IMMEDIATE already serialises
    writers. MAX(seq) + 1 would race (two readers see the same maximum) and would restart
    numbering once old events are pruned.
    """
    # Through JSON once, so that the live copy is exactly what catch-up later reads back.
    body = json.loads(json.dumps(payload, cls=DjangoJSONEncoder))
    # No savepoint in the caller's transaction: the events stand or fall with its writes.
    with transaction.atomic(savepoint=False):
        numbers = _next_numbers(people)
        if not numbers:
            return
        # Taken under the lock, so a person's events are numbered in time order too
        # (pruning by time then never leaves a hole in the kept numbers).
        moment = timezone.now()
        events = PersonEvent.objects.bulk_create(
            PersonEvent(person_id=pk, seq=seq, kind=kind, payload=body, created_at=moment)
            for pk, seq in numbers
        )
        messages = [(event.person_id, event.as_message()) for event in events]
        # robust: the events are committed either way; a channel layer that is down must
        # not turn the caller's success into an error. Tabs catch up from the log.
        transaction.on_commit(lambda: _deliver(messages), robust=True)


def _next_numbers(people: Iterable[int] | QuerySet[Any, int]) -> list[tuple[int, int]]:
    """(person id, the number of their new event) for each person, in one statement."""
    if isinstance(people, QuerySet):
        sql, params = people.query.sql_with_params()
        source = f"SELECT DISTINCT ids.person_id AS pk FROM ({sql}) AS ids"  # noqa: S608 - ORM SQL
        values = list(params)
    else:
        ids = sorted(set(people))
        if not ids:
            return []
        # VALUES names its column column1 on both SQLite and PostgreSQL.
        rows = ", ".join(["(%s)"] * len(ids))
        source = f"SELECT ids.column1 AS pk FROM (VALUES {rows}) AS ids"  # noqa: S608 - placeholders
        values = ids
    quote = connection.ops.quote_name
    table, person, last = (
        quote(EventCursor._meta.db_table),
        quote("person_id"),
        quote("last_seq"),
    )
    # «WHERE true»: SQLite would read ON CONFLICT as a join's ON after a bare SELECT.
    sql = (
        f"INSERT INTO {table} ({person}, {last}) "  # noqa: S608 - names and placeholders only
        f"SELECT chosen.pk, 1 FROM ({source}) AS chosen WHERE true ORDER BY chosen.pk "
        f"ON CONFLICT ({person}) DO UPDATE SET {last} = {table}.{last} + 1 "
        f"RETURNING {person}, {last}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
        return sorted(cursor.fetchall())


def _deliver(messages: list[tuple[int, dict[str, Any]]]) -> None:
    channel_layer = get_channel_layer()
    if channel_layer is None:
        return

    async def send_all() -> None:
        # All at once, not one after another: on Redis each group_send is a round trip or
        # two, and a 30-member chat waited for 30 of them in a row before the answer went.
        # The Redis layer's pool bounds how many are in flight (parta.realtime.layers).
        await asyncio.gather(
            *(
                channel_layer.group_send(
                    person_group(person_id), {"type": "person.event", "event": message}
                )
                for person_id, message in messages
            )
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

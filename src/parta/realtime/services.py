"""Writes of the event log: publishing events to people, pruning old ones."""

import json
import time
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.core.cache import cache
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.db.models import Field, Model, QuerySet
from django.utils import timezone

from parta.realtime.models import EventCursor, PendingFanout, PersonEvent


def person_group(person_id: int) -> str:
    """The channel-layer group of one person's open tabs (one group per person, never per chat)."""
    return f"person-{person_id}"


# Called after the commit with (person ids, kind, payload) of every event published, inline or
# by the fan-out: how apps above (notifications) learn of events without realtime knowing them.
Listener = Callable[[list[int], str, dict[str, Any]], None]
_listeners: list[Listener] = []


def listen(listener: Listener) -> None:
    """Call `listener` after the commit of every published event (an app's ready())."""
    if listener not in _listeners:
        _listeners.append(listener)


def _tell_listeners(people: list[int], kind: str, body: dict[str, Any]) -> None:
    for listener in _listeners:
        listener(people, kind, body)


# An audience larger than this is numbered after the sender's commit by the fan-out task
# (realtime/fanout.py), FANOUT_CHUNK people a transaction, so that a post to a 2,000-member
# school channel costs its author two statements instead of 2,000 rows' worth of work.
INLINE_AUDIENCE = 200
FANOUT_CHUNK = 500


def publish(
    people: Iterable[int] | QuerySet[Any, int],
    kind: str,
    payload: dict,
    *,
    stream: str | None = None,
) -> None:
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

    An audience of more than INLINE_AUDIENCE people is stored as one PendingFanout row
    instead and numbered after the commit (fan_out_next). `stream` names what the event is
    about (messaging.events.conversation_stream): while a fan-out of the same stream is
    pending, the event waits behind it, so each person's events about one conversation keep
    their order. Events of other streams go ahead — waiting behind every pending fan-out
    let a school channel's post turn a busy class chat into a queue that never emptied
    (delivery 31 s behind at 50 msg/s). An event without a stream waits behind all.
    """
    # Through JSON once, so that the live copy is exactly what catch-up later reads back.
    body = json.loads(json.dumps(payload, cls=DjangoJSONEncoder))
    if not isinstance(people, QuerySet):
        people = list(people)  # read twice when the audience is large
    # No savepoint in the caller's transaction: the events stand or fall with its writes.
    with transaction.atomic(savepoint=False):
        numbers = _next_numbers(people, INLINE_AUDIENCE, stream)
        if numbers is not None:
            _append(numbers, kind, body)
            return
        if _defer(people, kind, body, stream):
            transaction.on_commit(_wake_fanout, robust=True)


def fan_out_next() -> bool:
    """Number and deliver the next chunk of the oldest pending fan-out, in one transaction;
    False when none is pending. One fan-out at a time, oldest first, in every process:
    the row lock makes a second process wait for the chunk, so people's events keep the
    order they were published in."""
    # A plain read first: an idle sweep takes no write lock (SQLite's is the database's).
    if not PendingFanout.objects.exists():
        return False
    with transaction.atomic():
        pending = PendingFanout.objects.select_for_update().order_by("pk").first()
        if pending is None:
            return False
        chunk = sorted(pending.people)[pending.done : pending.done + FANOUT_CHUNK]
        numbers = _next_numbers(chunk, None, None)
        if numbers:
            _append(numbers, pending.kind, pending.payload)
        pending.done += len(chunk)
        if pending.done >= len(pending.people):
            pending.delete()
        else:
            pending.save(update_fields=["done"])
    return True


def _wake_fanout() -> None:
    # Imported here: the task's module imports this one for fan_out_next.
    from parta.realtime import fanout

    fanout.wake()


def _append(numbers: list[tuple[int, int]], kind: str, body: dict) -> None:
    """Store each person's event under the number just taken, in one statement: the payload
    is sent once and each row takes its number from the person's counter, which this
    transaction holds. bulk_create sent the payload once per person: 727 of 1,755 py-spy
    samples of the fan-out at 50 msg/s on PostgreSQL went to building those rows."""
    if not numbers:
        return
    # Taken under the lock, so a person's events are numbered in time order too
    # (pruning by time then never leaves a hole in the kept numbers).
    moment = timezone.now()
    source, values = _audience([pk for pk, _ in numbers])
    quote = connection.ops.quote_name
    columns = ", ".join(
        quote(name) for name in ("person_id", "seq", "kind", "payload", "created_at")
    )
    sql = (
        f"INSERT INTO {quote(PersonEvent._meta.db_table)} ({columns}) "  # noqa: S608
        f"SELECT counter.{quote('person_id')}, counter.{quote('last_seq')}, %s, %s, %s "
        f"FROM {quote(EventCursor._meta.db_table)} AS counter "
        f"WHERE counter.{quote('person_id')} IN (SELECT chosen.pk FROM ({source}) AS chosen)"
    )
    head = [
        kind,
        _prepared(PersonEvent, "payload", body),
        _prepared(PersonEvent, "created_at", moment),
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, head + values)
    messages = [(pk, PersonEvent.message(seq, kind, body, moment)) for pk, seq in numbers]
    # robust: the events are committed either way; a channel layer that is down must
    # not turn the caller's success into an error. Tabs catch up from the log.
    transaction.on_commit(lambda: _deliver(messages), robust=True)
    people = [pk for pk, _ in numbers]
    transaction.on_commit(lambda: _tell_listeners(people, kind, body), robust=True)


def _prepared(model: type[Model], name: str, value: Any) -> Any:
    """`value` as the database takes it for the column `name` of `model`."""
    field = model._meta.get_field(name)
    if not isinstance(field, Field):
        raise TypeError(name)
    return field.get_db_prep_value(value, connection)


def _defer(
    people: list[int] | QuerySet[Any, int], kind: str, body: dict, stream: str | None
) -> bool:
    """Store the event with its audience for the fan-out task, in one statement (the
    audience's ids aggregated by the database); False when the audience is empty."""
    if not isinstance(people, QuerySet) and not people:
        return False
    source, values = _audience(people)
    aggregate = "jsonb_agg" if connection.vendor == "postgresql" else "json_group_array"

    quote = connection.ops.quote_name
    columns = ", ".join(
        quote(name) for name in ("kind", "stream", "payload", "people", "done", "created_at")
    )
    sql = (
        f"INSERT INTO {quote(PendingFanout._meta.db_table)} ({columns}) "  # noqa: S608
        f"SELECT %s, %s, %s, audience.ids, 0, %s FROM "
        f"(SELECT {aggregate}(chosen.pk) AS ids FROM ({source}) AS chosen) AS audience "
        f"WHERE audience.ids IS NOT NULL RETURNING {quote('id')}"
    )
    head = [
        kind,
        stream,
        _prepared(PendingFanout, "payload", body),
        _prepared(PendingFanout, "created_at", timezone.now()),
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, head + values)
        return cursor.fetchone() is not None


def _audience(people: list[int] | QuerySet[Any, int]) -> tuple[str, list[Any]]:
    """A subquery of the people's distinct ids (column `pk`), with its parameters."""
    if isinstance(people, QuerySet):
        sql, params = people.query.sql_with_params()
        return f"SELECT DISTINCT ids.person_id AS pk FROM ({sql}) AS ids", list(params)  # noqa: S608
    ids = sorted(set(people))
    # VALUES names its column column1 on both SQLite and PostgreSQL.
    rows = ", ".join(["(%s)"] * len(ids))
    return f"SELECT ids.column1 AS pk FROM (VALUES {rows}) AS ids", ids  # noqa: S608


def _next_numbers(
    people: list[int] | QuerySet[Any, int], at_most: int | None, stream: str | None
) -> list[tuple[int, int]] | None:
    """(person id, the number of their new event) for each person, in one statement; None,
    numbering nobody, when there are more than `at_most` of them or a fan-out of `stream`
    (or one without a stream) is pending."""
    if not isinstance(people, QuerySet) and not people:
        return []
    source, values = _audience(people)
    quote = connection.ops.quote_name
    conditions = ["true"]
    if at_most is not None:
        if not isinstance(people, QuerySet) and len(values) > at_most:
            return None
        # While a fan-out of the stream waits, later events wait behind it (its task
        # numbers them).
        pending = f"SELECT 1 FROM {quote(PendingFanout._meta.db_table)} AS pending"  # noqa: S608
        if stream is None:
            conditions = [f"NOT EXISTS ({pending})"]
            extra: list[Any] = []
        else:
            ahead = f"pending.{quote('stream')} = %s OR pending.{quote('stream')} IS NULL"
            conditions = [f"NOT EXISTS ({pending} WHERE {ahead})"]
            extra = [stream]
        if isinstance(people, QuerySet):
            # Counted in the same statement: a small chat still takes one round trip.
            conditions.append(f"(SELECT COUNT(*) FROM ({source}) AS counted) <= %s")  # noqa: S608
            extra = [*extra, *values, at_most]
        values = [*values, *extra]
    table, person, last = (
        quote(EventCursor._meta.db_table),
        quote("person_id"),
        quote("last_seq"),
    )
    # A WHERE before ON CONFLICT: SQLite would read ON CONFLICT as a join's ON otherwise.
    sql = (
        f"INSERT INTO {table} ({person}, {last}) "  # noqa: S608 - names and placeholders only
        f"SELECT chosen.pk, 1 FROM ({source}) AS chosen WHERE {' AND '.join(conditions)} "
        f"ORDER BY chosen.pk "
        f"ON CONFLICT ({person}) DO UPDATE SET {last} = {table}.{last} + 1 "
        f"RETURNING {person}, {last}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
        numbers = sorted(cursor.fetchall())
    if at_most is not None and not numbers:
        # Nobody numbered: an empty audience, a large one, or a fan-out pending.
        return None
    return numbers


def _deliver(messages: list[tuple[int, dict[str, Any]]]) -> None:
    channel_layer = get_channel_layer()
    if channel_layer is None:
        return

    sends = [
        (person_group(person_id), {"type": "person.event", "event": message})
        for person_id, message in messages
    ]

    # One batch, not one group_send after another: on Redis a group_send is four round
    # trips, and a 30-member chat waited for 30 of them in a row before the answer went
    # (parta.realtime.layers has the batch; both of its layers have it). The in-memory
    # layer takes them without the sender waiting for the sockets' loop; the Redis one is
    # waited for: sent without waiting, two alternated pairs at 50 msg/s delivered later
    # (p50 8.9 and 15 s against 0.07 and 5.7 s waiting; not profiled yet).
    if not channel_layer.group_send_many_soon(sends):
        async_to_sync(channel_layer.group_send_many)(sends)


def focus_key(person_id: int) -> str:
    """The cache key of the streams a person's tabs show and have focused, by tab."""
    return f"realtime-focus-{person_id}"


async def set_focus(person_id: int, tab: str, stream: str | None, lasts: float) -> None:
    """Note in the cache (shared by every worker) that the tab `tab` shows `stream` with
    focus for `lasts` seconds (the tab renews it), or nothing when `stream` is None. A tab
    that dies without a word stops counting once its time is up."""
    key = focus_key(person_id)
    now = time.time()
    tabs = {
        name: entry
        for name, entry in (await cache.aget(key) or {}).items()
        if name != tab and entry[1] > now
    }
    if stream is not None:
        tabs[tab] = (stream, now + lasts)
    if tabs:
        await cache.aset(key, tabs, timeout=int(lasts) + 1)
    else:
        await cache.adelete(key)


# Events older than this are deleted by the daily job (and `parta prune-events`).
EVENTS_KEPT_DAYS = 30


@transaction.atomic
def prune_events(older_than: datetime) -> int:
    """Delete events created before `older_than`; counters stay, so numbering never restarts.
    A tab that comes back from before the oldest kept event is told to resync."""
    deleted, _ = PersonEvent.objects.filter(created_at__lt=older_than).delete()
    return deleted

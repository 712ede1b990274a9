"""Per-person weekly message counts, kept equal to the messages themselves."""

from collections import Counter
from collections.abc import Iterable, Iterator
from datetime import date
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from django.db import connection, transaction

from parta.bulk import insert_models
from parta.messaging.models import Message
from parta.monitoring.models import WeeklyMessageTally
from parta.monitoring.weeks import week_monday
from parta.structure.models import Organization

TallyKey = tuple[int, int, date]  # organization_id, person_id, week_monday
# Bounds the IN list when stored tallies are read for many organizations at once.
ORGANIZATIONS_PER_READ = 500


class MessageLike(Protocol):
    organization_id: int
    author_id: int
    written_at: Any
    is_service: bool


def organization_zones(organization_ids: Iterable[int]) -> dict[int, ZoneInfo]:
    return {
        org_id: ZoneInfo(tz)
        for org_id, tz in Organization.objects.filter(pk__in=set(organization_ids)).values_list(
            "pk", "district__region__time_zone"
        )
    }


def count_messages(
    messages: Iterable[MessageLike], zones: dict[int, ZoneInfo]
) -> Counter[TallyKey]:
    counts: Counter[TallyKey] = Counter()
    for message in messages:
        if message.is_service:
            continue
        zone = zones[message.organization_id]
        counts[
            (message.organization_id, message.author_id, week_monday(message.written_at, zone))
        ] += 1
    return counts


def _upsert(key: TallyKey, n: int) -> None:
    """The live path, one message: one statement that adds to the row or makes it. An update
    followed by a create lost a race on PostgreSQL: two first messages of a week by one
    person at once both found no row, and the second insert broke the unique key (the send
    failed). ON CONFLICT waits for the other transaction and adds to its row."""
    quote = connection.ops.quote_name
    table = quote(WeeklyMessageTally._meta.db_table)
    columns = ("organization_id", "person_id", "week_monday", "messages")
    target = ", ".join(quote(c) for c in ("organization_id", "week_monday", "person_id"))
    messages = quote("messages")
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({', '.join(quote(c) for c in columns)}) "  # noqa: S608 - names only
            f"VALUES (%s, %s, %s, %s) ON CONFLICT ({target}) "
            f"DO UPDATE SET {messages} = {table}.{messages} + excluded.{messages}",
            [key[0], key[1], connection.ops.adapt_datefield_value(key[2]), n],
        )


# savepoint=False: inside a send's transaction a savepoint is two statements more on the
# live path, and a failure here fails the send anyway.
@transaction.atomic(savepoint=False)
def add_counts(counts: Counter[TallyKey]) -> None:
    if not counts:
        return
    if len(counts) == 1:
        ((key, n),) = counts.items()
        _upsert(key, n)
        return
    mondays = {key[2] for key in counts}
    org_ids = sorted({key[0] for key in counts})
    existing: dict[TallyKey, WeeklyMessageTally] = {}
    # A range of the (organization, week_monday, person) index per organization and week:
    # adding a person IN list makes SQLite probe the cross product of the lists.
    for start in range(0, len(org_ids), ORGANIZATIONS_PER_READ):
        for stored_row in WeeklyMessageTally.objects.select_for_update().filter(
            organization_id__in=org_ids[start : start + ORGANIZATIONS_PER_READ],
            week_monday__in=mondays,
        ):
            key = (stored_row.organization_id, stored_row.person_id, stored_row.week_monday)
            if key in counts:
                existing[key] = stored_row
    to_update = []
    to_create = []
    for key, n in counts.items():
        row = existing.get(key)
        if row is None:
            to_create.append(
                WeeklyMessageTally(
                    organization_id=key[0], person_id=key[1], week_monday=key[2], messages=n
                )
            )
        else:
            row.messages += n
            to_update.append(row)
    WeeklyMessageTally.objects.bulk_update(to_update, ["messages"], batch_size=2000)
    insert_models(WeeklyMessageTally, to_create)


def on_messages_written(
    sender: Any,
    messages: list[MessageLike],
    zones: dict[int, ZoneInfo] | None = None,
    **kwargs: Any,
) -> None:
    """`zones`: the organizations' zones when the writer knows them (the live send path
    reads them with the author's rights), else read here."""
    counted = [m for m in messages if not m.is_service]
    if not counted:
        return
    known = zones or organization_zones(m.organization_id for m in counted)
    add_counts(count_messages(counted, known))


def _all_messages() -> Iterator[Message]:
    return (
        Message.objects.only("organization_id", "author_id", "written_at", "is_service")
        .order_by()
        .iterator(chunk_size=20000)
    )


def recount() -> Counter[TallyKey]:
    """Count every stored message afresh (the rule the tallies must equal)."""
    return count_messages(
        _all_messages(), organization_zones(Organization.objects.values_list("pk", flat=True))
    )


def stored() -> Counter[TallyKey]:
    return Counter(
        {
            (o, p, w): n
            for o, p, w, n in WeeklyMessageTally.objects.values_list(
                "organization_id", "person_id", "week_monday", "messages"
            )
            if n
        }
    )


@transaction.atomic
def rebuild() -> int:
    WeeklyMessageTally.objects.all().delete()
    counts = recount()
    add_counts(counts)
    return len(counts)

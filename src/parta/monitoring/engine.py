"""The weekly indicators of the letter, computed exactly as docs/indicators.md says.

Every output (API, pages, `parta report`, CSV, XLSX, digests) gets its numbers
from `weekly_report`, whose rows carry the keys of `indicators`; no rule is written twice.
Roles are read as they were held at the moment of each action, so a closed week does not
move when roles change.
"""

from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.db import connection, transaction
from django.db.models import (
    BooleanField,
    Case,
    Count,
    Exists,
    ExpressionWrapper,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Greatest, Least

from parta.accounts.models import Role, RoleGrant
from parta.accounts.selectors import role_grants_during, role_grants_held_at, role_held_at_each
from parta.calls.selectors import held_broadcasts, held_calls
from parta.messaging.models import Conversation, Message
from parta.monitoring.indicators import COUNTED, SHARED, TEACHERS, Kind, of_kind
from parta.monitoring.models import WeeklyMessageTally
from parta.monitoring.scopes import Scope
from parta.monitoring.weeks import Week
from parta.structure.models import Organization

PairKey = tuple[int, int]  # organization_id, person_id
Rows = QuerySet[Any, tuple[Any, ...]]  # a values_list query of one week


def share_pct(part: int, whole: int) -> float | None:
    """Percentage rounded half up to one decimal; None when there is nobody to share among."""
    if whole == 0:
        return None
    value = (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.1"), ROUND_HALF_UP)
    return float(value)


@dataclass
class WeeklyReport:
    week: Week
    scope: Scope
    organizations: list[dict[str, Any]]
    total: dict[str, Any]
    # Earlier weeks' reports of the same scope, oldest first, when the reader asked for them.
    history: list["WeeklyReport"] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"week": str(self.week), "organizations": self.organizations, "total": self.total}


@contextmanager
def _report_queries() -> Iterator[None]:
    """The report's queries in one transaction and, on PostgreSQL, without JIT: it compiled
    the grants query for 175 ms of its 275 ms on the region benchmark. SET LOCAL lasts only
    as long as the transaction, so it is safe behind a transaction-pooling PgBouncer."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL jit = off")
        yield


def weekly_report(scope: Scope, week: Week) -> WeeklyReport:
    return weekly_reports(scope, [week])[0]


def weekly_reports(scope: Scope, weeks: Sequence[Week]) -> list[WeeklyReport]:
    """The reports of several weeks, each equal to `weekly_report(scope, week)`: the same
    queries, built week by week, but each read for all the weeks at once (UNION ALL), so a
    12-week trend costs the statements of one report instead of twelve reports'."""
    with _report_queries():
        orgs = list(scope.organizations().order_by())
        by_zone: dict[str, list[Organization]] = defaultdict(list)
        for org in orgs:
            by_zone[org.district.region.time_zone].append(org)
        rows: list[list[dict[str, Any]]] = [[] for _week in weeks]
        for tz, group in by_zone.items():
            for week_rows, activity in zip(
                rows, weeks_activity(group, weeks, ZoneInfo(tz)), strict=True
            ):
                week_rows.extend(_organization_rows(group, activity))
    reports = []
    for week, week_rows in zip(weeks, rows, strict=True):
        week_rows.sort(key=lambda row: (row["region"], row["district"], row["name"], row["id"]))
        total = total_row(week_rows)
        reports.append(WeeklyReport(week=week, scope=scope, organizations=week_rows, total=total))
    return reports


def total_row(rows: list[dict[str, Any]]) -> dict[str, Any]:
    total: dict[str, Any] = {
        "organizations": len(rows),
        "active_organizations": sum(1 for row in rows if row["active"]),
    }
    total.update(_numbers({each.key: sum(row[each.key] for row in rows) for each in COUNTED}))
    return total


def _numbers(counts: dict[str, int]) -> dict[str, Any]:
    """The counts of an organization or a total in report order: the teachers and the
    letter's indicators, their shares of the teachers, then the context counts."""
    numbers: dict[str, Any] = {
        each.key: counts[each.key] for each in of_kind(Kind.TEACHERS, Kind.TEACHER_SHARE)
    }
    whole = counts[TEACHERS.key]
    numbers.update({each.pct_key: share_pct(counts[each.key], whole) for each in SHARED})
    numbers.update({each.key: counts[each.key] for each in of_kind(Kind.MEMBERS, Kind.ACTIVITY)})
    return numbers


@dataclass
class WeekActivity:
    """What the indicators are made of, for organizations sharing one zone and week."""

    # organization → people holding the teacher role in W
    teachers: dict[int, set[int]] = field(default_factory=lambda: defaultdict(set))
    # messages written in W while a teacher
    teacher_messages: Counter[PairKey] = field(default_factory=Counter)
    # held calls created in W while a teacher
    teacher_calls: Counter[PairKey] = field(default_factory=Counter)
    # live chats created while a teacher (cumulative)
    teacher_chats: Counter[PairKey] = field(default_factory=Counter)
    # (organization, role) → people at the last moment
    members: dict[tuple[int, str], int] = field(default_factory=dict)
    messages_total: dict[int, int] = field(default_factory=dict)
    chats_total: Counter[int] = field(default_factory=Counter)
    calls_total: Counter[int] = field(default_factory=Counter)
    # held broadcasts created in W (never calls: docs/indicators.md)
    broadcasts_total: Counter[int] = field(default_factory=Counter)
    # the week's teachers with a grant that starts or ends inside W
    changing: set[PairKey] = field(default_factory=set)


def week_activity(orgs: list[Organization], week: Week, zone: ZoneInfo) -> WeekActivity:
    return weeks_activity(orgs, [week], zone)[0]


def weeks_activity(
    orgs: list[Organization], weeks: Sequence[Week], zone: ZoneInfo
) -> list[WeekActivity]:
    """Each week's activity. Every query below is built for one week, so the rules are
    written once; `_each_week` reads it for all the weeks together."""
    org_ids = [org.pk for org in orgs]
    bounds = [week.bounds(zone) for week in weeks]
    found = [WeekActivity() for _week in weeks]

    for i, (org_id, person_id, spans, n) in _each_week(
        [
            _teacher_grants(org_ids, week, start, end)
            for week, (start, end) in zip(weeks, bounds, strict=True)
        ]
    ):
        found[i].teachers[org_id].add(person_id)
        # One person's grants of one role never overlap: their parts of W add up.
        found[i].teacher_messages[(org_id, person_id)] += n or 0
        if not spans:
            found[i].changing.add((org_id, person_id))

    for i, (org_id, role, n) in _each_week(
        [_members_at(org_ids, end - timedelta(microseconds=1)) for _start, end in bounds]
    ):
        found[i].members[(org_id, role)] = n

    for i, (org_id, n) in _each_week([_messages_of_week(org_ids, week) for week in weeks]):
        found[i].messages_total[org_id] = n or 0

    for i, (org_id, creator, as_teacher, n) in _each_week(
        [_live_chats(org_ids, end) for _start, end in bounds]
    ):
        found[i].chats_total[org_id] += n
        if as_teacher and creator in found[i].teachers.get(org_id, set()):
            found[i].teacher_chats[(org_id, creator)] += n

    for i, (org_id, n) in _each_week(
        [_held_broadcasts_of_week(org_ids, start, end) for start, end in bounds]
    ):
        found[i].broadcasts_total[org_id] = n

    # Held calls created in W. A teacher all week created every such call as one; only the
    # creators whose role starts or ends inside W have each call checked against the role
    # held then.
    for i, (org_id, creator, n) in _each_week(
        [_held_calls_of_week(org_ids, start, end) for start, end in bounds]
    ):
        found[i].calls_total[org_id] += n
        if creator in found[i].teachers.get(org_id, ()) and (org_id, creator) not in (
            found[i].changing
        ):
            found[i].teacher_calls[(org_id, creator)] = n
    checked = [i for i, activity in enumerate(found) if activity.changing]
    for j, (org_id, creator, n) in _each_week(
        [
            _held_calls_while_teacher(
                org_ids, *bounds[i], {person for _org, person in found[i].changing}
            )
            for i in checked
        ]
    ):
        if (org_id, creator) in found[checked[j]].changing:
            found[checked[j]].teacher_calls[(org_id, creator)] = n
    return found


# Parameters one statement may carry: SQLite allows 32,766, PostgreSQL 65,535.
MAX_STATEMENT_PARAMS = 20_000


def _each_week(parts: Sequence[Rows]) -> Iterator[tuple[int, tuple[Any, ...]]]:
    """(index of the part, row) for the rows of one query per week, read together as one
    UNION ALL (more only where the weeks' parameters would not fit in one statement)."""
    if len(parts) == 1:
        for row in parts[0]:
            yield 0, row
        return
    batch: list[Rows] = []
    size = 0
    for index, part in enumerate(parts):
        tagged = part.order_by().annotate(part_index=Value(index, output_field=IntegerField()))
        params = len(tagged.query.sql_with_params()[1])
        if batch and size + params > MAX_STATEMENT_PARAMS:
            yield from _union_rows(batch)
            batch, size = [], 0
        batch.append(tagged)
        size += params
    if batch:
        yield from _union_rows(batch)


def _union_rows(batch: list[Rows]) -> Iterator[tuple[int, tuple[Any, ...]]]:
    for *row, index in batch[0].union(*batch[1:], all=True):
        yield index, tuple(row)


def _teacher_grants(org_ids: list[int], week: Week, start: datetime, end: datetime) -> Rows:
    """Who was a teacher in W, and the messages each wrote in W there while holding the
    role: a grant spanning all of W reads the person's weekly tally (one index lookup);
    a grant that starts or ends inside W counts the messages of its part of W."""
    week_tally = WeeklyMessageTally.objects.filter(
        organization_id=OuterRef("organization_id"),
        person_id=OuterRef("person_id"),
        week_monday=week.monday,
    ).values("messages")[:1]
    written_while_held = (
        Message.objects.filter(
            author_id=OuterRef("person_id"),
            organization_id=OuterRef("organization_id"),
            is_service=False,
            written_at__gte=Greatest(Value(start), OuterRef("valid_from")),
            written_at__lt=Least(Value(end), Coalesce(OuterRef("valid_to"), Value(end))),
        )
        .order_by()
        .values("author_id")
        .annotate(n=Count("id"))
        .values("n")
    )
    spans_week = Q(valid_from__lte=start) & (Q(valid_to__isnull=True) | Q(valid_to__gte=end))
    return (
        role_grants_during(org_ids, [Role.TEACHER], start, end)
        .annotate(
            spans=ExpressionWrapper(spans_week, BooleanField()),
            n=Case(
                When(spans_week, then=Subquery(week_tally)),
                default=Subquery(written_while_held),
            ),
        )
        .values_list("organization_id", "person_id", "spans", "n")
    )


def _members_at(org_ids: list[int], last_moment: datetime) -> Rows:
    return (
        role_grants_held_at(org_ids, [Role.ADMIN, Role.STUDENT, Role.PARENT], last_moment)
        .values_list("organization_id", "role")
        # One person's grants of one role never overlap, so grants held at a moment = people.
        .annotate(n=Count("id"))
        .order_by()
    )


def _messages_of_week(org_ids: list[int], week: Week) -> Rows:
    return (
        WeeklyMessageTally.objects.filter(organization_id__in=org_ids, week_monday=week.monday)
        .values_list("organization_id")
        .annotate(n=Sum("messages"))
        .order_by()
    )


def _held_calls_of_week(org_ids: list[int], start: datetime, end: datetime) -> Rows:
    return (
        held_calls()
        .filter(organization_id__in=org_ids, created_at__gte=start, created_at__lt=end)
        .values_list("organization_id", "created_by_id")
        .annotate(n=Count("id"))
        .order_by()
    )


def _held_broadcasts_of_week(org_ids: list[int], start: datetime, end: datetime) -> Rows:
    return (
        held_broadcasts()
        .filter(organization_id__in=org_ids, created_at__gte=start, created_at__lt=end)
        .values_list("organization_id")
        .annotate(n=Count("id"))
        .order_by()
    )


def _held_calls_while_teacher(
    org_ids: list[int], start: datetime, end: datetime, creators: set[int]
) -> Rows:
    return (
        held_calls()
        .filter(organization_id__in=org_ids, created_at__gte=start, created_at__lt=end)
        .filter(created_by_id__in=creators)
        .filter(Exists(_teacher_when("created_by_id", "created_at")))
        .values_list("organization_id", "created_by_id")
        .annotate(n=Count("id"))
        .order_by()
    )


def _teacher_when(person_field: str, moment_field: str) -> QuerySet[RoleGrant]:
    """For EXISTS: the outer row's person held the teacher role in its organization then."""
    return role_held_at_each(
        Role.TEACHER, OuterRef("organization_id"), OuterRef(person_field), OuterRef(moment_field)
    )


def _live_chats(org_ids: list[int], end: datetime) -> Rows:
    """Chats alive at the end of W, by creator and whether they were a teacher at creation."""
    return (
        Conversation.objects.filter(
            organization_id__in=org_ids, kind=Conversation.Kind.CHAT, created_at__lt=end
        )
        .filter(Q(deleted_at__isnull=True) | Q(deleted_at__gte=end))
        # The creator's role at the chat's creation, which may lie long before W.
        .annotate(as_teacher=Exists(_teacher_when("created_by_id", "created_at")))
        .values_list("organization_id", "created_by_id", "as_teacher")
        .annotate(n=Count("id"))
        .order_by()
    )


def _organization_rows(orgs: list[Organization], activity: WeekActivity) -> list[dict[str, Any]]:
    rows = []
    for org in orgs:
        org_teachers = activity.teachers.get(org.pk, set())
        msgs = [activity.teacher_messages.get((org.pk, p), 0) for p in org_teachers]
        calls = [activity.teacher_calls[(org.pk, p)] for p in org_teachers]
        counts = {
            "teachers": len(org_teachers),
            "teachers_with_chat": sum(
                1 for p in org_teachers if activity.teacher_chats[(org.pk, p)]
            ),
            "teachers_3_messages": sum(1 for n in msgs if n >= 3),
            "teachers_10_messages": sum(1 for n in msgs if n >= 10),
            "teachers_1_call": sum(1 for n in calls if n >= 1),
            "teachers_3_calls": sum(1 for n in calls if n >= 3),
            "admins": activity.members.get((org.pk, Role.ADMIN), 0),
            "students": activity.members.get((org.pk, Role.STUDENT), 0),
            "parents": activity.members.get((org.pk, Role.PARENT), 0),
            "chats": activity.chats_total[org.pk],
            "messages": activity.messages_total.get(org.pk, 0),
            "calls_held": activity.calls_total[org.pk],
            "broadcasts_held": activity.broadcasts_total[org.pk],
        }
        row: dict[str, Any] = {
            "id": org.external_id or str(org.pk),
            "name": org.full_name,
            "district": org.district.name,
            "region": org.district.region.name,
            "active": any(n >= 1 for n in msgs) or any(n >= 1 for n in calls),
        }
        row.update(_numbers(counts))
        rows.append(row)
    return rows

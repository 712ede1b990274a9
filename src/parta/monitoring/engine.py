"""The weekly indicators of the letter, computed exactly as docs/indicators.md says.

Every output (API, pages, `parta report`, CSV, XLSX, digests) gets its numbers
from `weekly_report`; no rule is written twice. Roles are read as they were held
at the moment of each action, so a closed week does not move when roles change.
"""

from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
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
from parta.calls.selectors import held_calls
from parta.messaging.models import Conversation, Message
from parta.monitoring.models import WeeklyMessageTally
from parta.monitoring.scopes import Scope
from parta.monitoring.weeks import Week
from parta.structure.models import Organization

# Indicator keys whose share of `teachers` is reported under `<key>_pct`.
TEACHER_KEYS = (
    "teachers_with_chat",
    "teachers_3_messages",
    "teachers_10_messages",
    "teachers_1_call",
    "teachers_3_calls",
)
CONTEXT_KEYS = ("admins", "students", "parents", "chats", "messages", "calls_held")
COUNT_KEYS = ("teachers", *TEACHER_KEYS, *CONTEXT_KEYS)

PairKey = tuple[int, int]  # organization_id, person_id


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
    with _report_queries():
        return _weekly_report(scope, week)


def _weekly_report(scope: Scope, week: Week) -> WeeklyReport:
    orgs = list(scope.organizations().order_by())
    by_zone: dict[str, list[Organization]] = defaultdict(list)
    for org in orgs:
        by_zone[org.district.region.time_zone].append(org)
    rows: list[dict[str, Any]] = []
    for tz, group in by_zone.items():
        rows.extend(_organization_rows(group, week, ZoneInfo(tz)))
    rows.sort(key=lambda row: (row["region"], row["district"], row["name"], row["id"]))
    return WeeklyReport(week=week, scope=scope, organizations=rows, total=total_row(rows))


def total_row(rows: list[dict[str, Any]]) -> dict[str, Any]:
    total: dict[str, Any] = {
        "organizations": len(rows),
        "active_organizations": sum(1 for row in rows if row["active"]),
    }
    sums = {key: sum(row[key] for row in rows) for key in COUNT_KEYS}
    total["teachers"] = sums["teachers"]
    total.update({key: sums[key] for key in TEACHER_KEYS})
    total.update({f"{key}_pct": share_pct(sums[key], sums["teachers"]) for key in TEACHER_KEYS})
    total.update({key: sums[key] for key in CONTEXT_KEYS})
    return total


@dataclass
class WeekActivity:
    """What the indicators are made of, for organizations sharing one zone and week."""

    teachers: dict[int, set[int]]  # organization → people holding the teacher role in W
    teacher_messages: dict[PairKey, int]  # messages written in W while a teacher
    teacher_calls: Counter[PairKey]  # held calls created in W while a teacher
    teacher_chats: Counter[PairKey]  # live chats created while a teacher (cumulative)
    members: dict[tuple[int, str], int]  # (organization, role) → people at the last moment
    messages_total: dict[int, int]
    chats_total: Counter[int]
    calls_total: Counter[int]


def week_activity(orgs: list[Organization], week: Week, zone: ZoneInfo) -> WeekActivity:
    start, end = week.bounds(zone)
    last_moment = end - timedelta(microseconds=1)
    org_ids = [org.pk for org in orgs]

    # Who was a teacher in W, and the messages each wrote in W there while holding the
    # role: a grant spanning all of W reads the person's weekly tally (one index lookup);
    # a grant that starts or ends inside W counts the messages of its part of W.
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
    teachers: dict[int, set[int]] = defaultdict(set)
    teacher_messages: Counter[PairKey] = Counter()
    changing: set[PairKey] = set()  # a grant of theirs starts or ends inside W
    for org_id, person_id, spans, n in (
        role_grants_during(org_ids, [Role.TEACHER], start, end)
        .annotate(
            spans=ExpressionWrapper(spans_week, BooleanField()),
            n=Case(
                When(spans_week, then=Subquery(week_tally)),
                default=Subquery(written_while_held),
            ),
        )
        .values_list("organization_id", "person_id", "spans", "n")
    ):
        teachers[org_id].add(person_id)
        # One person's grants of one role never overlap: their parts of W add up.
        teacher_messages[(org_id, person_id)] += n or 0
        if not spans:
            changing.add((org_id, person_id))
    members: dict[tuple[int, str], int] = {
        (org_id, role): n
        for org_id, role, n in role_grants_held_at(
            org_ids, [Role.ADMIN, Role.STUDENT, Role.PARENT], last_moment
        )
        .values_list("organization_id", "role")
        # One person's grants of one role never overlap, so grants held at a moment = people.
        .annotate(n=Count("id"))
        .order_by()
    }

    messages_total: dict[int, int] = {
        org_id: n or 0
        for org_id, n in WeeklyMessageTally.objects.filter(
            organization_id__in=org_ids, week_monday=week.monday
        )
        .values_list("organization_id")
        .annotate(n=Sum("messages"))
        .order_by()
    }

    chats_total, teacher_chats = _chats(org_ids, end, teachers)

    calls_total, teacher_calls = _held_calls(org_ids, start, end, teachers, changing)

    return WeekActivity(
        teachers=teachers,
        teacher_messages=teacher_messages,
        teacher_calls=teacher_calls,
        teacher_chats=teacher_chats,
        members=members,
        messages_total=messages_total,
        chats_total=chats_total,
        calls_total=calls_total,
    )


def _organization_rows(
    orgs: list[Organization], week: Week, zone: ZoneInfo
) -> list[dict[str, Any]]:
    activity = week_activity(orgs, week, zone)
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
        }
        row: dict[str, Any] = {
            "id": org.external_id or str(org.pk),
            "name": org.full_name,
            "district": org.district.name,
            "region": org.district.region.name,
            "active": any(n >= 1 for n in msgs) or any(n >= 1 for n in calls),
        }
        row.update(counts)
        row.update({f"{k}_pct": share_pct(counts[k], counts["teachers"]) for k in TEACHER_KEYS})
        row.update(
            {
                "admins": activity.members.get((org.pk, Role.ADMIN), 0),
                "students": activity.members.get((org.pk, Role.STUDENT), 0),
                "parents": activity.members.get((org.pk, Role.PARENT), 0),
                "chats": activity.chats_total[org.pk],
                "messages": activity.messages_total.get(org.pk, 0),
                "calls_held": activity.calls_total[org.pk],
            }
        )
        rows.append(row)
    return rows


def _held_calls(
    org_ids: list[int],
    start: datetime,
    end: datetime,
    teachers: dict[int, set[int]],
    changing: set[PairKey],
) -> tuple[Counter[int], Counter[PairKey]]:
    """Held calls created in W per organization, and per week's teacher those created while
    a teacher. A teacher all week created every such call as one; only the creators whose
    role starts or ends inside W have each call checked against the role held then."""
    in_week = held_calls().filter(
        organization_id__in=org_ids, created_at__gte=start, created_at__lt=end
    )
    total: Counter[int] = Counter()
    by_teacher: Counter[PairKey] = Counter()
    for org_id, creator, n in (
        in_week.values_list("organization_id", "created_by_id").annotate(n=Count("id")).order_by()
    ):
        total[org_id] += n
        if creator in teachers.get(org_id, ()) and (org_id, creator) not in changing:
            by_teacher[(org_id, creator)] = n
    if changing:
        for org_id, creator, n in (
            in_week.filter(created_by_id__in={person for _org, person in changing})
            .filter(Exists(_teacher_when("created_by_id", "created_at")))
            .values_list("organization_id", "created_by_id")
            .annotate(n=Count("id"))
            .order_by()
        ):
            if (org_id, creator) in changing:
                by_teacher[(org_id, creator)] = n
    return total, by_teacher


def _teacher_when(person_field: str, moment_field: str) -> QuerySet[RoleGrant]:
    """For EXISTS: the outer row's person held the teacher role in its organization then."""
    return role_held_at_each(
        Role.TEACHER, OuterRef("organization_id"), OuterRef(person_field), OuterRef(moment_field)
    )


def _chats(
    org_ids: list[int], end: datetime, teachers: dict[int, set[int]]
) -> tuple[Counter[int], Counter[PairKey]]:
    """Chats alive at the end of W, and per week's teacher the ones they made while a teacher."""
    total: Counter[int] = Counter()
    by_teacher: Counter[PairKey] = Counter()
    for org_id, creator, as_teacher, n in (
        Conversation.objects.filter(
            organization_id__in=org_ids, kind=Conversation.Kind.CHAT, created_at__lt=end
        )
        .filter(Q(deleted_at__isnull=True) | Q(deleted_at__gte=end))
        # The creator's role at the chat's creation, which may lie long before W.
        .annotate(as_teacher=Exists(_teacher_when("created_by_id", "created_at")))
        .values_list("organization_id", "created_by_id", "as_teacher")
        .annotate(n=Count("id"))
        .order_by()
    ):
        total[org_id] += n
        if as_teacher and creator in teachers.get(org_id, set()):
            by_teacher[(org_id, creator)] += n
    return total, by_teacher

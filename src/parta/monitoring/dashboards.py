"""Reads behind the dashboards: per-teacher tables, trends, districts of a region.

Every number comes from `engine`; nothing here restates a rule.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from parta.accounts.models import Person
from parta.monitoring.engine import WeeklyReport, total_row, week_activity
from parta.monitoring.weeks import Week
from parta.structure.models import Organization

TREND_WEEKS = 12  # the report's week and 11 before it


@dataclass(frozen=True)
class TeacherActivity:
    person: Person
    chats: int
    messages: int
    calls: int

    @property
    def below_3_messages(self) -> bool:
        return self.messages < 3

    @property
    def no_call(self) -> bool:
        return self.calls < 1


def teacher_activity(organization: Organization, week: Week) -> list[TeacherActivity]:
    """Each teacher of the week with what the indicators counted for them."""
    activity = week_activity([organization], week, ZoneInfo(organization.district.region.time_zone))
    teacher_ids = activity.teachers.get(organization.pk, set())
    people = Person.objects.in_bulk(teacher_ids)
    rows = [
        TeacherActivity(
            person=people[pk],
            chats=activity.teacher_chats[(organization.pk, pk)],
            messages=activity.teacher_messages.get((organization.pk, pk), 0),
            calls=activity.teacher_calls[(organization.pk, pk)],
        )
        for pk in teacher_ids
    ]
    return sorted(rows, key=lambda row: (row.person.full_name, row.person.pk))


def trend(report: WeeklyReport) -> list[tuple[Week, dict[str, Any]]]:
    """The totals of the report's earlier weeks and its own, oldest first."""
    return [(each.week, each.total) for each in [*report.history, report]]


def district_rows(report: WeeklyReport) -> list[dict[str, Any]]:
    """A region's report folded into one totals row per district."""
    by_district: dict[str, list[dict[str, Any]]] = {}
    for row in report.organizations:
        by_district.setdefault(row["district"], []).append(row)
    return [{"district": name, **total_row(rows)} for name, rows in sorted(by_district.items())]


def week_choices(now: datetime, zone: ZoneInfo, count: int = TREND_WEEKS) -> list[Week]:
    """This week so far, the last closed week, then earlier ones."""
    weeks = [Week.containing(now, zone)]
    while len(weeks) < count:
        weeks.append(weeks[-1].previous())
    return weeks

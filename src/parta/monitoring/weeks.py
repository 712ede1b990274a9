"""The reporting week: the one place that says where a week starts and ends.

A week is the ISO week, Monday 00:00 inclusive to the next Monday 00:00
exclusive, in the organization's zone (its region's IANA zone).
"""

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

_WEEK_RE = re.compile(r"^(?P<year>\d{4})-W(?P<week>\d{2})$")


class WeekError(ValueError):
    pass


@dataclass(frozen=True, order=True)
class Week:
    year: int
    number: int

    def __post_init__(self) -> None:
        try:
            date.fromisocalendar(self.year, self.number, 1)
        except ValueError as exc:
            raise WeekError(f"В {self.year} году нет недели {self.number}.") from exc

    @classmethod
    def parse(cls, text: str) -> "Week":
        match = _WEEK_RE.match(text.strip())
        if not match:
            raise WeekError(
                f"Неделя записывается как ГГГГ-Wнн, например 2026-W48; получено «{text}»."
            )
        return cls(int(match["year"]), int(match["week"]))

    @classmethod
    def of_date(cls, day: date) -> "Week":
        iso = day.isocalendar()
        return cls(iso.year, iso.week)

    @classmethod
    def containing(cls, moment: datetime, zone: ZoneInfo) -> "Week":
        if moment.tzinfo is None:
            raise WeekError("Время без часового пояса нельзя отнести к неделе.")
        return cls.of_date(moment.astimezone(zone).date())

    def __str__(self) -> str:
        return f"{self.year}-W{self.number:02d}"

    @property
    def monday(self) -> date:
        return date.fromisocalendar(self.year, self.number, 1)

    def start(self, zone: ZoneInfo) -> datetime:
        return datetime.combine(self.monday, time.min, tzinfo=zone)

    def end(self, zone: ZoneInfo) -> datetime:
        return self.next().start(zone)

    def bounds(self, zone: ZoneInfo) -> tuple[datetime, datetime]:
        return self.start(zone), self.end(zone)

    def next(self) -> "Week":
        return Week.of_date(self.monday + timedelta(days=7))

    def previous(self) -> "Week":
        return Week.of_date(self.monday - timedelta(days=7))


def week_monday(moment: datetime, zone: ZoneInfo) -> date:
    """The Monday (local date) of the week that contains `moment` in `zone`."""
    local = moment.astimezone(zone).date()
    return local - timedelta(days=local.weekday())


def last_closed_week(now: datetime, zones: list[ZoneInfo]) -> Week:
    """The latest week that has ended in every one of `zones`."""
    return min(Week.containing(now, zone) for zone in zones).previous()

"""Opening a report: resolve what is asked, check that the viewer may see it, log the view."""

from datetime import datetime
from zoneinfo import ZoneInfo

from django.utils import timezone

from parta.accounts.models import Person
from parta.monitoring.engine import WeeklyReport, weekly_reports
from parta.monitoring.models import ReportAccess
from parta.monitoring.scopes import (
    ReportAccessRights,
    Scope,
    report_access_rights,
    resolve_scope,
)
from parta.monitoring.weeks import Week, last_closed_week


def default_week(scope: Scope, now: datetime) -> Week:
    """The last week closed in every zone the scope covers."""
    zones = {
        ZoneInfo(tz)
        for tz in scope.organizations().values_list("district__region__time_zone", flat=True)
    }
    return last_closed_week(now, sorted(zones, key=str) or [ZoneInfo("UTC")])


def open_report(
    viewer: Person | None,
    *,
    channel: str,
    week: str | None = None,
    region: str | None = None,
    district: str | None = None,
    org: str | None = None,
    kinds: str | None = None,
    now: datetime | None = None,
    rights: ReportAccessRights | None = None,
    history: int = 0,
) -> WeeklyReport:
    """The report a viewer asked for, or the widest one they may see when they name no scope.

    `viewer` None is the server's own console (`parta report`), which sees everything.
    `rights` are the viewer's `report_access_rights` at `now`, for a page that has read them.
    `history` earlier weeks come with the report (`report.history`), from the same engine run.
    Raises ScopeError / WeekError for bad input and PermissionError for a scope out of reach.
    """
    moment = now or timezone.now()
    if viewer is not None and rights is None:
        rights = report_access_rights(viewer, moment)
    if rights is not None and not (region or district or org):
        scope = rights.default_scope(resolve_scope(kinds=kinds).kinds)
    else:
        scope = resolve_scope(region=region, district=district, org=org, kinds=kinds)
    if rights is not None:
        rights.authorize(scope)
    chosen_week = Week.parse(week) if week else default_week(scope, moment)
    weeks = [chosen_week]
    while len(weeks) <= history:
        weeks.insert(0, weeks[0].previous())
    *earlier, report = weekly_reports(scope, weeks)
    report.history = earlier
    ReportAccess.objects.create(
        person=viewer, channel=channel, scope=scope.label, week=str(chosen_week)
    )
    return report

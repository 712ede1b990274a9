from datetime import timedelta
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django.contrib.auth.decorators import login_required
from django.core.exceptions import BadRequest, PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext_lazy

from parta.accounts.selectors import current_memberships
from parta.messaging.letters import may_write_letters
from parta.monitoring.charts import line_chart
from parta.monitoring.checklist import activation_checklist, activation_checklists
from parta.monitoring.dashboards import (
    TREND_WEEKS,
    district_rows,
    teacher_activity,
    trend,
    week_choices,
)
from parta.monitoring.exports import CONTENT_TYPES, RENDERERS, report_filename
from parta.monitoring.indicators import ACTIVE, INDICATORS, SHARED, TEACHERS
from parta.monitoring.scopes import ScopeError, report_access_rights
from parta.monitoring.services import open_report
from parta.monitoring.weeks import WeekError
from parta.web.auth import signed_in


@login_required
def report_download(request: HttpRequest, fmt: str) -> HttpResponse:
    """The week's report as the CSV or XLSX file a district sends upward."""
    try:
        report = open_report(
            signed_in(request),
            channel=fmt,
            week=request.GET.get("week") or None,
            region=request.GET.get("region") or None,
            district=request.GET.get("district") or None,
            org=request.GET.get("org") or None,
            kinds=request.GET.get("kinds") or None,
        )
    except (ScopeError, WeekError) as exc:
        raise BadRequest(str(exc)) from exc
    except PermissionError as exc:
        raise PermissionDenied(str(exc)) from exc
    response = HttpResponse(RENDERERS[fmt](report), content_type=CONTENT_TYPES[fmt])
    response["Content-Disposition"] = f'attachment; filename="{report_filename(report, fmt)}"'
    return response


# The organizations table: the name, then the flag, the teachers and each letter
# indicator's share (the column sorts by the share and shows the count beside it).
SORT_COLUMNS = (
    ("name", gettext_lazy("Организация")),
    (ACTIVE.key, ACTIVE.short_label),
    (TEACHERS.key, TEACHERS.short_label),
    *((indicator.pct_key, indicator.short_label) for indicator in SHARED),
)
SORTABLE = {key for key, _label in SORT_COLUMNS}


@login_required
def dashboard_home(request: HttpRequest) -> HttpResponse:
    """Send each viewer to the widest dashboard they may see."""
    try:
        scope = report_access_rights(signed_in(request), timezone.now()).default_scope()
    except PermissionError as exc:
        raise PermissionDenied(str(exc)) from exc
    return redirect("monitoring:dashboard", level=scope.level, ref=scope.ref)


@login_required
def dashboard(request: HttpRequest, level: str, ref: str) -> HttpResponse:
    """A school's, district's, region's or the platform's week, with trend and checklist."""
    viewer = signed_in(request)
    now = timezone.now()
    # The viewer's organizations and report rights, read once for the whole page.
    memberships = current_memberships(viewer, now)
    rights = report_access_rights(viewer, now, memberships)
    try:
        report = open_report(
            viewer,
            channel="page",
            week=request.GET.get("week") or None,
            kinds=request.GET.get("kinds") or None,
            org=ref if level == "organization" else None,
            district=ref if level == "district" else None,
            region=ref if level == "region" else None,
            now=now,
            rights=rights,
            history=TREND_WEEKS - 1,
        )
    except (ScopeError, WeekError) as exc:
        raise BadRequest(str(exc)) from exc
    except PermissionError as exc:
        raise PermissionDenied(str(exc)) from exc
    scope = report.scope
    zone = ZoneInfo(
        scope.organizations().values_list("district__region__time_zone", flat=True).first() or "UTC"
    )
    history = trend(report)
    context: dict[str, Any] = {
        "report": report,
        "level": level,
        "weeks": week_choices(now, zone),
        "current_week": week_choices(now, zone, 1)[0],
        "week_start": report.week.monday,
        "week_last_day": report.week.monday + timedelta(days=6),
        "query": urlencode({"week": str(report.week), **scope.query}),
        "indicators": INDICATORS,
        "shared": SHARED,
        "teachers_label": TEACHERS.short_label,
        "chart": line_chart(
            [str(w).split("-")[1] for w, _total in history],
            [
                (str(each.short_label), [total[each.pct_key] for _w, total in history])
                for each in SHARED
            ],
        ),
    }
    if scope.organization is not None:
        context["row"] = report.organizations[0]
        context["checklist"] = activation_checklist(scope.organization, now)
        # Its steps lead to the admin's pages; other viewers see where the school stands.
        context["checklist_links"] = rights.administers(scope.organization)
        if rights.sees_teachers_of(scope.organization):
            context["teachers"] = teacher_activity(scope.organization, report.week)
    else:
        sort = request.GET.get("sort", "name")
        descending = request.GET.get("dir") == "desc"
        if sort in SORTABLE:
            report.organizations.sort(
                key=lambda row: (row[sort] is None, row[sort] if row[sort] is not None else 0),
                reverse=descending,
            )
        context.update({"sort": sort, "descending": descending, "sort_columns": SORT_COLUMNS})
        if scope.level in ("region", "platform"):
            context["districts"] = district_rows(report)
        context["letter_authorities"] = [
            org for org in memberships if may_write_letters(viewer, org, now)
        ]
        if scope.district is not None:
            schools = list(scope.organizations())
            checklists = activation_checklists(schools, now)
            context["matrix"] = [(org, checklists[org.pk]) for org in schools]
    return render(request, "monitoring/dashboard.html", context)

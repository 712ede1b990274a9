from datetime import timedelta
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, HttpResponseForbidden
from django.shortcuts import render

from parta.monitoring.exports import CONTENT_TYPES, RENDERERS, report_filename
from parta.monitoring.scopes import ScopeError
from parta.monitoring.services import open_report
from parta.monitoring.weeks import WeekError


def _report_params(request: HttpRequest) -> dict[str, str | None]:
    return {
        key: request.GET.get(key) or None for key in ("week", "region", "district", "org", "kinds")
    }


@login_required
def report_page(request: HttpRequest) -> HttpResponse:
    """The week's table for the viewer's scope, light enough for a rural link."""
    params = _report_params(request)
    try:
        report = open_report(request.user, channel="page", **params)  # type: ignore[arg-type]
    except (ScopeError, WeekError) as exc:
        return HttpResponseBadRequest(str(exc), content_type="text/plain; charset=utf-8")
    except PermissionError as exc:
        return HttpResponseForbidden(str(exc), content_type="text/plain; charset=utf-8")
    weeks = [report.week]
    while len(weeks) < 12:
        weeks.append(weeks[-1].previous())
    scope_params = {k: v for k, v in params.items() if v and k != "week"}
    query = urlencode({**scope_params, "week": str(report.week)})
    return render(
        request,
        "monitoring/report.html",
        {
            "report": report,
            "weeks": weeks,
            "scope_params": scope_params,
            "query": query,
            "week_start": report.week.monday,
            "week_last_day": report.week.monday + timedelta(days=6),
        },
    )


@login_required
def report_download(request: HttpRequest, fmt: str) -> HttpResponse:
    """The week's report as the CSV or XLSX file a district sends upward."""
    try:
        report = open_report(request.user, channel=fmt, **_report_params(request))  # type: ignore[arg-type]
    except (ScopeError, WeekError) as exc:
        return HttpResponseBadRequest(str(exc), content_type="text/plain; charset=utf-8")
    except PermissionError as exc:
        return HttpResponseForbidden(str(exc), content_type="text/plain; charset=utf-8")
    response = HttpResponse(RENDERERS[fmt](report), content_type=CONTENT_TYPES[fmt])
    response["Content-Disposition"] = f'attachment; filename="{report_filename(report, fmt)}"'
    return response

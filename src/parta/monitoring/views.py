from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, HttpResponseForbidden

from parta.monitoring.exports import CONTENT_TYPES, RENDERERS, report_filename
from parta.monitoring.scopes import ScopeError
from parta.monitoring.services import open_report
from parta.monitoring.weeks import WeekError


@login_required
def report_download(request: HttpRequest, fmt: str) -> HttpResponse:
    """The week's report as the CSV or XLSX file a district sends upward."""
    params = request.GET
    try:
        report = open_report(
            request.user,  # type: ignore[arg-type]
            channel=fmt,
            week=params.get("week") or None,
            region=params.get("region") or None,
            district=params.get("district") or None,
            org=params.get("org") or None,
            kinds=params.get("kinds") or None,
        )
    except (ScopeError, WeekError) as exc:
        return HttpResponseBadRequest(str(exc), content_type="text/plain; charset=utf-8")
    except PermissionError as exc:
        return HttpResponseForbidden(str(exc), content_type="text/plain; charset=utf-8")
    response = HttpResponse(RENDERERS[fmt](report), content_type=CONTENT_TYPES[fmt])
    response["Content-Disposition"] = f'attachment; filename="{report_filename(report, fmt)}"'
    return response

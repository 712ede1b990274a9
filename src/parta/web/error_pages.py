"""What a bad (400), refused (403), missing (404) or failed (500) request gets: a page in
the site's layout, or under /api/ the API's JSON ({"detail", "code"}), whatever view raised.

Views refuse by raising BadRequest or PermissionDenied with the refusal's words, which the
400 and 403 pages show, or Http404, whose words it never shows (they may tell what exists).
urls.py names these handlers; Django calls them with DEBUG off.
"""

from django.core.exceptions import BadRequest
from django.http import HttpRequest, HttpResponse, HttpResponseServerError, JsonResponse
from django.shortcuts import render
from django.template import loader
from django.utils.translation import gettext as _
from django.views.decorators.csrf import requires_csrf_token

API_PREFIX = "/api/"


def is_api(request: HttpRequest) -> bool:
    return request.path.startswith(API_PREFIX)


def api_error(detail: str, code: str, status: int) -> JsonResponse:
    return JsonResponse({"detail": detail, "code": code}, status=status)


@requires_csrf_token  # the layout's forms (language, sign-out) need a token
def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    # Only a view's own BadRequest is worded for people; a SuspiciousOperation (a forged
    # host, a broken session) also lands here and says nothing of what was checked.
    problem = str(exception) if isinstance(exception, BadRequest) else ""
    if is_api(request):
        return api_error(problem or _("Неверный запрос"), "invalid", 400)
    return render(request, "web/400.html", {"problem": problem}, status=400)


@requires_csrf_token
def forbidden(request: HttpRequest, exception: Exception) -> HttpResponse:
    refusal = str(exception)
    if is_api(request):
        return api_error(refusal or _("Нет доступа"), "forbidden", 403)
    return render(request, "web/403.html", {"refusal": refusal}, status=403)


@requires_csrf_token
def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if is_api(request):
        return api_error(_("Не найдено"), "not_found", 404)
    return render(request, "web/404.html", status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    """Rendered without the request's context: the database, the session or a context
    processor may be what failed."""
    if is_api(request):
        return api_error(_("Ошибка на сервере"), "error", 500)
    return HttpResponseServerError(loader.get_template("web/500.html").render())

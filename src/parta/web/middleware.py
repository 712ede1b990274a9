"""Russian first: the language is the one a person chose with the switch, else Russian.

Django's LocaleMiddleware would follow the browser's Accept-Language, and many school
computers run an English browser; a Russian school's interface should not change with it.
"""

from collections.abc import Callable

from csp.middleware import CSPMiddleware, PolicyParts
from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.middleware.gzip import GZipMiddleware
from django.utils import translation


class ChosenLanguageMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME, "")
        language = chosen if chosen in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = language
        response = self.get_response(request)
        response.headers.setdefault("Content-Language", language)
        return response


class ContentSecurityPolicyMiddleware(CSPMiddleware):
    """django-csp's header, with this page's own WebSocket origin in connect-src.

    CSP 3 counts ws(s) of the same host as 'self', but older Safari (school iPads) does
    not; the host is the request's, already checked against ALLOWED_HOSTS.
    """

    def get_policy_parts(
        self, request: HttpRequest, response: HttpResponseBase, report_only: bool = False
    ) -> PolicyParts:
        parts = super().get_policy_parts(request, response, report_only)
        socket = f"{'wss' if request.is_secure() else 'ws'}://{request.get_host()}"
        update = dict(parts.update or {})
        update["connect-src"] = [*update.get("connect-src", []), socket]
        parts.update = update
        return parts


class PageGZipMiddleware(GZipMiddleware):
    """Pages gzipped for phones on 3G when Parta serves them itself (nginx gzips in front of
    it otherwise): the page-weight test's chat of 50 messages is 72 KB of HTML, 5 KB gzipped.
    Only HTML: attachments and static files stream as they are (whitenoise has its own .gz
    copies). Django's GZipMiddleware pads each response randomly against BREACH."""

    def process_response(
        self, request: HttpRequest, response: HttpResponseBase
    ) -> HttpResponseBase:
        if response.streaming or not response.get("Content-Type", "").startswith("text/html"):
            return response
        return super().process_response(request, response)

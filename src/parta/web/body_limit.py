"""A request body over DATA_UPLOAD_MAX_MEMORY_SIZE: 413 with a message, JSON under /api/.

Django would answer a bare 400 (under DEBUG a traceback page), from wherever the body was
first read. This middleware reads it first, the way the view will: a form is parsed (the
bytes of uploaded files do not count), any other body is read whole.
"""

from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from parta.web.error_pages import api_error, is_api

FORMS = ("multipart/form-data", "application/x-www-form-urlencoded")


class BodyLimitMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            if request.content_type in FORMS:
                request.POST  # noqa: B018 - parsing is the check
            else:
                request.body  # noqa: B018 - reading is the check
        except RequestDataTooBig:
            return too_big(request)
        return self.get_response(request)


def too_big(request: HttpRequest) -> HttpResponse:
    detail = _("Запрос слишком большой: не больше %(size)s КБ.") % {
        "size": settings.DATA_UPLOAD_MAX_MEMORY_SIZE // 1024
    }
    if is_api(request):
        return api_error(detail, "too_big", 413)
    return render(request, "web/too_big.html", {"detail": detail}, status=413)

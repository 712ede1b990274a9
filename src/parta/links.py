"""Links that leave Parta's pages (a notice's text, an email, a push): the site's address
(PARTA_BASE_URL) before a path."""

from django.conf import settings


def absolute_url(path: str) -> str:
    return f"{settings.PARTA_BASE_URL}{path}"

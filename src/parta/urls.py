from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path

from parta.api import api

# Refusals, missing pages and failures (web/error_pages.py): the site's pages, JSON under /api/.
handler400 = "parta.web.error_pages.bad_request"
handler403 = "parta.web.error_pages.forbidden"
handler404 = "parta.web.error_pages.not_found"
handler500 = "parta.web.error_pages.server_error"

# No route serves MEDIA_ROOT, in DEBUG neither: uploads are personal data, and only the
# apps' own views (messaging's attachment view) check who may read a file.

urlpatterns: list[URLPattern | URLResolver] = [
    path("admin/", admin.site.urls),
    path("api/", api.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("accounts/", include("parta.accounts.urls")),
    path("monitoring/", include("parta.monitoring.urls")),
    path("org/", include("parta.schools.urls")),
    path("", include("parta.invites.urls")),
    path("", include("parta.roster.urls")),
    path("messages/", include("parta.messaging.urls")),
    path("calls/", include("parta.calls.urls")),
    path("help/", include("parta.support.urls")),
    path("", include("parta.notifications.urls")),
    path("", include("parta.web.urls")),
]

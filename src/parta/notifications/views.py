"""The PWA shell's files (manifest, service worker, offline page) and the settings page."""

import json

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.templatetags.static import static
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_POST

from parta.messaging.models import Conversation
from parta.notifications import selectors, services
from parta.notifications.shell import shell
from parta.notifications.templatetags.notifications import bell_context
from parta.web.auth import signed_in

THEME = "#1f5f8b"


def manifest(request: HttpRequest) -> JsonResponse:
    data = {
        "name": _("Парта"),
        "short_name": _("Парта"),
        "start_url": "/messages/",
        "scope": "/",
        "display": "standalone",
        "theme_color": THEME,
        "background_color": "#ffffff",
        "lang": "ru",
        "icons": [
            {
                "src": static(f"notifications/icon-{size}.png"),
                "sizes": f"{size}x{size}",
                "type": "image/png",
            }
            for size in (192, 512)
        ],
    }
    response = JsonResponse(data, json_dumps_params={"ensure_ascii": False})
    response["Content-Type"] = "application/manifest+json"
    return response


# Served from the root, not /static/, so that its scope is the whole site; never cached
# by the browser's HTTP cache, so a new version is picked up at the next visit.
@cache_control(no_cache=True)
def service_worker(request: HttpRequest) -> HttpResponse:
    found = shell()
    return render(
        request,
        "notifications/sw.js",
        {
            "shell": json.dumps(found.urls),
            "version": found.version,
            "icon": json.dumps(static("notifications/icon-192.png")),
        },
        content_type="text/javascript",
    )


def offline(request: HttpRequest) -> HttpResponse:
    return render(request, "notifications/offline.html")


class SettingsForm(forms.Form):
    quiet_hours = forms.BooleanField(label=gettext_lazy("Тихие часы"), required=False)
    quiet_from = forms.TimeField(label=gettext_lazy("С"))
    quiet_until = forms.TimeField(label=gettext_lazy("До"))


@login_required
def settings_page(request: HttpRequest) -> HttpResponse:
    person = signed_in(request)
    current = selectors.notification_settings(person)
    if request.method == "POST":
        form = SettingsForm(request.POST)
        if form.is_valid():
            services.save_settings(person, **form.cleaned_data)
            return redirect("notifications:settings")
    else:
        form = SettingsForm(
            initial={
                "quiet_hours": current.quiet_hours,
                "quiet_from": current.quiet_from,
                "quiet_until": current.quiet_until,
            }
        )
    chats = selectors.muted_chats(person, timezone.now())
    return render(request, "notifications/settings.html", {"form": form, "chats": chats})


@login_required
@require_POST
def chat_notifications(request: HttpRequest, conversation_id: int) -> HttpResponse:
    """A choice of the chat page's bell; an outsider gets the site's 403 (PermissionDenied).
    chat_bell.js asks for the bell redrawn (X-Parta-Fragment), a plain form goes back."""
    person = signed_in(request)
    conversation = get_object_or_404(
        Conversation.objects.select_related("organization__district__region"),
        pk=conversation_id,
        deleted_at__isnull=True,
    )
    now = timezone.now()
    try:
        services.choose_chat_notifications(
            person, conversation, request.POST.get("choice", ""), now
        )
    except ValidationError as refused:
        return HttpResponseBadRequest(
            " ".join(refused.messages), content_type="text/plain; charset=utf-8"
        )
    if request.headers.get("X-Parta-Fragment"):
        bell = selectors.chat_bell(person, conversation, now)
        return render(request, "notifications/_chat_bell.html", bell_context(bell, now))
    return redirect("messaging:conversation", pk=conversation.pk)

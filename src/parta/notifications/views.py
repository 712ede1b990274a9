"""The PWA shell's files (manifest, service worker, offline page) and the settings page."""

import json
from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import BadRequest, ValidationError
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
    email_fallback = forms.BooleanField(
        label=gettext_lazy("Письма о непрочитанных, когда нет push-уведомлений"),
        help_text=gettext_lazy(
            "Не чаще одного письма о беседе в час; в тихие часы письмо ждёт их конца."
        ),
        required=False,
    )

    def __init__(self, *args: Any, has_email: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Without an address there is nothing to offer: the page says why instead.
        if not has_email:
            del self.fields["email_fallback"]


@login_required
def settings_page(request: HttpRequest) -> HttpResponse:
    person = signed_in(request)
    current = selectors.notification_settings(person)
    has_email = bool(person.email)
    if request.method == "POST":
        form = SettingsForm(request.POST, has_email=has_email)
        if form.is_valid():
            services.save_settings(person, **form.cleaned_data)
            return redirect("notifications:settings")
    else:
        form = SettingsForm(
            initial={
                "quiet_hours": current.quiet_hours,
                "quiet_from": current.quiet_from,
                "quiet_until": current.quiet_until,
                "email_fallback": current.email_fallback,
            },
            has_email=has_email,
        )
    context = {
        "form": form,
        "chats": selectors.muted_chats(person, timezone.now()),
        "email": person.email,
        "devices": len(selectors.subscriptions_of(person)),
    }
    return render(request, "notifications/settings.html", context)


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
        problem = " ".join(refused.messages)
        if request.headers.get("X-Parta-Fragment"):  # shown inside the bell by chat_bell.js
            return HttpResponseBadRequest(problem, content_type="text/plain; charset=utf-8")
        raise BadRequest(problem) from refused
    if request.headers.get("X-Parta-Fragment"):
        bell = selectors.chat_bell(person, conversation, now)
        return render(request, "notifications/_chat_bell.html", bell_context(bell, now))
    return redirect("messaging:conversation", pk=conversation.pk)

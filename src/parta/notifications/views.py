"""The PWA shell's files (manifest, service worker, offline page) and the settings page."""

import json
from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import cache_control

from parta.notifications import selectors, services
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
    shell = [
        "/offline/",
        static("web/parta.css"),
        static("realtime/events.js"),
        static("notifications/push.js"),
        static("notifications/icon-192.png"),
    ]
    return render(
        request,
        "notifications/sw.js",
        {"shell": json.dumps(shell), "version": "1"},
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

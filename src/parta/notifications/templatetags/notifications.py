"""{% chat_bell conversation %}: the chat page's notification control, drawn by the
notifications app so messaging needs no notification code."""

from datetime import datetime, timedelta
from typing import Any

from django import template
from django.utils import timezone
from django.utils.translation import gettext as _

from parta.messaging.models import Conversation
from parta.notifications.selectors import ChatBell, chat_bell
from parta.web.templatetags.moments import moment_text, today_in

register = template.Library()


def bell_label(bell: ChatBell, now: datetime) -> str:
    """«Без звука до 07:00» (today), «… до завтра 07:00», «… до 5 дек. 07:00», in the
    school's zone."""
    if bell.state == "off":
        return _("Без звука")
    if bell.state == "replies":
        return _("Только ответы мне и объявления")
    if bell.state == "on" or bell.until is None:
        return _("Уведомления включены")
    zone = bell.conversation.organization.region.zone
    local = timezone.localtime(bell.until, zone)
    clock = local.strftime("%H:%M")
    today = today_in(zone, now)
    if local.date() == today:
        return _("Без звука до %(time)s") % {"time": clock}
    if local.date() == today + timedelta(days=1):
        return _("Без звука до завтра %(time)s") % {"time": clock}
    day = moment_text(bell.until, zone, now)
    return _("Без звука до %(day)s %(time)s") % {"day": day, "time": clock}


def bell_context(bell: ChatBell, now: datetime) -> dict[str, Any]:
    """What notifications/_chat_bell.html draws; the page's tag and the redraw after a
    choice (views.chat_notifications) both use it."""
    return {
        "bell": bell,
        "label": bell_label(bell, now),
        "channel": bell.conversation.kind == Conversation.Kind.CHANNEL,
    }


@register.inclusion_tag("notifications/_chat_bell.html", takes_context=True)
def chat_bell_control(context: dict[str, Any], conversation: Conversation) -> dict[str, Any]:
    now = timezone.now()
    person = context["user"]
    return {
        **bell_context(chat_bell(person, conversation, now), now),
        "csrf_token": context.get("csrf_token"),
        "with_script": True,
    }

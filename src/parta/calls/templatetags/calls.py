"""{% call_panel conversation %}: the conversation page's «Позвонить» / «Присоединиться»
button and its call history, drawn by the calls app so messaging needs no call code."""

from datetime import timedelta
from typing import Any

from django import template
from django.utils import timezone
from django.utils.translation import gettext as _

from parta.calls.selectors import active_call, conversation_history
from parta.messaging.models import Conversation

register = template.Library()


@register.inclusion_tag("calls/_conversation_panel.html", takes_context=True)
def call_panel(context: dict[str, Any], conversation: Conversation) -> dict[str, Any]:
    return {
        "conversation": conversation,
        "active": active_call(conversation),
        "history": conversation_history(conversation, timezone.now(), limit=5),
        "csrf_token": context.get("csrf_token"),
    }


@register.filter
def call_duration(duration: timedelta | None) -> str:
    """«1 ч 5 мин», «12 мин», «40 с»; «идёт» for a call someone is still in."""
    if duration is None:
        return _("идёт")
    seconds = int(duration.total_seconds())
    hours, minutes = seconds // 3600, seconds % 3600 // 60
    if hours:
        return _("%(h)s ч %(m)s мин") % {"h": hours, "m": minutes}
    if minutes:
        return _("%(m)s мин") % {"m": minutes}
    return _("%(s)s с") % {"s": seconds}

"""{% call_panel conversation %}: the conversation page's «Позвонить» / «Присоединиться»
button and its call history, drawn by the calls app so messaging needs no call code."""

from datetime import timedelta
from typing import Any

from django import template
from django.utils import timezone
from django.utils.translation import gettext as _

from parta.calls.janus import janus_config
from parta.calls.selectors import active_call, conversation_history
from parta.messaging.models import Conversation
from parta.messaging.selectors import may_post

register = template.Library()


@register.inclusion_tag("calls/_conversation_panel.html", takes_context=True)
def call_panel(context: dict[str, Any], conversation: Conversation) -> dict[str, Any]:
    """Calls are started in chats; a broadcast by whoever may post in the chat or channel
    (the same rule open_broadcast refuses by), its button disabled with the reason when
    there is no Janus."""
    user = context.get("user")
    now = timezone.now()
    return {
        "conversation": conversation,
        "active": active_call(conversation),
        "history": conversation_history(conversation, now, limit=5),
        "csrf_token": context.get("csrf_token"),
        "may_call": conversation.kind != Conversation.Kind.CHANNEL,
        "may_broadcast": user is not None
        and user.is_authenticated
        and may_post(user, conversation, now),
        "broadcasts_need_sfu": janus_config() is None,
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

"""Writes of notifications: subscriptions, a person's settings, sending the pushes and the
email fallback's emails."""

import base64
import binascii
import json
import logging
from datetime import datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import Q
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from parta.accounts.models import Person
from parta.links import absolute_url
from parta.messaging.models import Conversation, Message
from parta.messaging.selectors import may_read
from parta.notifications import vapid
from parta.notifications.models import (
    ChatEmail,
    ChatNotificationSettings,
    NotificationSettings,
    PushSubscription,
)
from parta.notifications.selectors import (
    ChatSummary,
    Push,
    chat_emails_due,
    chat_summary,
    endpoint_allowed,
    first_line,
    in_quiet_hours,
    next_morning,
)

log = logging.getLogger(__name__)

# The push service's answers that mean the subscription is gone for good.
GONE = frozenset({404, 410})
# How long a push is kept by the push service for a device that is offline.
TTL_SECONDS = 24 * 60 * 60


def _key(value: str, length: int, name: str) -> str:
    """A base64url key of `length` bytes, as PushSubscription.toJSON() gives it."""
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != length:
        raise ValidationError(_("Ключ %(name)s подписки неверен.") % {"name": name}, "bad_key")
    return value


@transaction.atomic
def subscribe(
    person: Person, endpoint: str, p256dh: str, auth: str, device: str, now: datetime
) -> PushSubscription:
    """Store a browser's subscription (again: its keys renewed). An endpoint outside
    PARTA_PUSH_ALLOWED_HOSTS is refused, so no subscription makes the server call an
    arbitrary address. A browser signed in by someone else now belongs to them."""
    if not endpoint_allowed(endpoint):
        raise ValidationError(
            _("Этот адрес push-сервиса не разрешён на сервере Парты."), "push_host_not_allowed"
        )
    fields = {
        "person": person,
        "p256dh": _key(p256dh, 65, "p256dh"),
        "auth": _key(auth, 16, "auth"),
        "device": device[:200],
    }
    subscription, _created = PushSubscription.objects.update_or_create(
        endpoint=endpoint, defaults=fields, create_defaults={**fields, "created_at": now}
    )
    return subscription


@transaction.atomic
def unsubscribe(person: Person, endpoint: str) -> bool:
    deleted, _rows = PushSubscription.objects.filter(person=person, endpoint=endpoint).delete()
    return bool(deleted)


def on_sign_out(sender: object, request: HttpRequest, user: Person | None, **kwargs: Any) -> None:
    """Nothing is pushed to a browser after its person signed out anywhere: a shared family
    phone must not show the next person someone else's chats."""
    if user is not None:
        PushSubscription.objects.filter(person=user).delete()


@transaction.atomic
def save_settings(
    person: Person,
    quiet_hours: bool,
    quiet_from: time,
    quiet_until: time,
    email_fallback: bool | None = None,
) -> NotificationSettings:
    """The person's quiet hours and, unless None (kept as it is), the email fallback, which
    needs an email address. Turned off, no chat's email waits any more."""
    if email_fallback and not person.email:
        raise ValidationError(
            _("В вашем профиле нет адреса эл. почты: письма слать некуда."), "no_email"
        )
    defaults: dict[str, object] = {
        "quiet_hours": quiet_hours,
        "quiet_from": quiet_from,
        "quiet_until": quiet_until,
    }
    if email_fallback is not None:
        defaults["email_fallback"] = email_fallback
    found, _created = NotificationSettings.objects.update_or_create(
        person=person, defaults=defaults
    )
    if not found.email_fallback:
        ChatEmail.objects.filter(person=person, pending_since__isnull=False).update(
            pending_since=None
        )
    return found


@transaction.atomic
def save_chat_settings(
    person: Person,
    conversation: Conversation,
    *,
    muted: bool,
    muted_until: datetime | None,
    replies_and_announcements_only: bool,
    now: datetime,
) -> ChatNotificationSettings:
    """A person's own settings for a chat they may read."""
    _require_reader(person, conversation, now)
    if muted_until is not None and timezone.is_naive(muted_until):
        raise ValidationError(_("Укажите время с часовым поясом."), "naive_time")
    return _store_chat_settings(
        person, conversation, muted, muted_until, replies_and_announcements_only
    )


def _require_reader(person: Person, conversation: Conversation, now: datetime) -> None:
    if not may_read(person, conversation, now):
        raise PermissionDenied(_("Вы не участник этой беседы."))


def _store_chat_settings(
    person: Person,
    conversation: Conversation,
    muted: bool,
    muted_until: datetime | None,
    replies_and_announcements_only: bool,
) -> ChatNotificationSettings:
    found, _created = ChatNotificationSettings.objects.update_or_create(
        person=person,
        conversation=conversation,
        defaults={
            "muted": muted,
            "muted_until": muted_until,
            "replies_and_announcements_only": replies_and_announcements_only,
        },
    )
    return found


# The chat page's bell: what each of its buttons does (the API sets the fields directly).
BELL_CHOICES = ("on", "off", "hour", "eight_hours", "morning", "replies")


@transaction.atomic
def choose_chat_notifications(
    person: Person, conversation: Conversation, choice: str, now: datetime
) -> ChatNotificationSettings:
    """One of the bell's choices: on, off, off for 1 or 8 hours or until 07:00 in the
    school's zone, or (channels only) only replies to me and announcements."""
    if choice not in BELL_CHOICES:
        raise ValidationError(_("Нет такой настройки уведомлений."), "bad_choice")
    # Before the channel check, so an outsider learns nothing of the chat.
    _require_reader(person, conversation, now)
    if choice == "replies" and conversation.kind != Conversation.Kind.CHANNEL:
        raise ValidationError(_("Только ответы и объявления — настройка каналов."), "not_channel")
    until = {
        "hour": now + timedelta(hours=1),
        "eight_hours": now + timedelta(hours=8),
        "morning": next_morning(conversation, now),
    }.get(choice)
    return _store_chat_settings(person, conversation, choice == "off", until, choice == "replies")


def send(pushes: list[Push], now: datetime) -> int:
    """Encrypt and post each push (pywebpush); a subscription its push service calls gone
    (404, 410) is deleted. The number delivered."""
    # Imported here: pywebpush brings aiohttp, a quarter of a second at every start of every
    # process (every command, every worker) that pushes nothing.
    from pywebpush import WebPushException, webpush

    delivered = []
    gone = []
    claims = {"sub": settings.PARTA_VAPID_SUBJECT}
    for push in pushes:
        subscription = push.subscription
        info = {
            "endpoint": subscription.endpoint,
            "keys": {"p256dh": subscription.p256dh, "auth": subscription.auth},
        }
        try:
            webpush(
                info,
                json.dumps(push.payload, ensure_ascii=False),
                vapid_private_key=vapid.server_key(),
                vapid_claims=dict(claims),
                ttl=TTL_SECONDS,
                timeout=settings.PARTA_PUSH_TIMEOUT,
            )
        except WebPushException as error:
            status = error.response.status_code if error.response is not None else None
            if status in GONE:
                gone.append(subscription.pk)
            else:
                log.warning("push: %s answered %s", subscription.endpoint[:60], status)
            continue
        except OSError:
            log.warning("push: %s unreachable", subscription.endpoint[:60], exc_info=True)
            continue
        delivered.append(subscription.pk)
    with transaction.atomic():
        if gone:
            PushSubscription.objects.filter(pk__in=gone).delete()
        if delivered:
            PushSubscription.objects.filter(pk__in=delivered).update(last_success_at=now)
    return len(delivered)


@transaction.atomic
def note_unread(people: list[int], message: Message, now: datetime) -> None:
    """A message these people get the email fallback for: their chat's email now waits,
    since the first such message (a later one does not put it off; one an email already
    told of, its job retried, changes nothing)."""
    if not people:
        return
    conversation_id = message.conversation_id
    ChatEmail.objects.bulk_create(
        [ChatEmail(person_id=pk, conversation_id=conversation_id) for pk in people],
        ignore_conflicts=True,
    )
    ChatEmail.objects.filter(
        person_id__in=people,
        conversation_id=conversation_id,
        pending_since__isnull=True,
        emailed_up_to__lt=message.pk,
    ).update(pending_since=now)


def send_chat_emails(now: datetime) -> int:
    """Every chat email due at `now`: one per person and chat per EMAIL_EVERY, held while
    it is the person's quiet hours. The number sent; safe to run again or twice at once."""
    sent = 0
    for row in chat_emails_due(now):
        if not in_quiet_hours(row.person, row.conversation, now):
            sent += _send_chat_email(row, now)
    return sent


def _send_chat_email(row: ChatEmail, now: datetime) -> bool:
    """Claim the row (one conditional UPDATE: a second worker, or a retry, finds it changed
    and sends nothing), then summarise and send. Nothing owed: the claim is given back."""
    previous = row.last_emailed_at
    claimed = (
        ChatEmail.objects.filter(pk=row.pk, pending_since=row.pending_since)
        .filter(
            Q(last_emailed_at__isnull=True) if previous is None else Q(last_emailed_at=previous)
        )
        .update(pending_since=None, last_emailed_at=now)
    )
    if not claimed:
        return False
    # Parta keeps no language per person (the switch is a cookie): emails go in Russian.
    with translation.override(settings.LANGUAGE_CODE):
        summary = chat_summary(row.person, row.conversation_id, now)
        if summary is None:
            ChatEmail.objects.filter(pk=row.pk, last_emailed_at=now).update(
                last_emailed_at=previous
            )
            return False
        mail = _chat_email(summary)
        ChatEmail.objects.filter(pk=row.pk).update(emailed_up_to=summary.newest[-1].pk)
    try:
        mail.send()
    except Exception as exc:  # any backend's failure; the claim stands: never sent twice
        log.warning(
            "chat email failed: person=%s conversation=%s: %s",
            row.person_id,
            row.conversation_id,
            type(exc).__name__,
        )
        return False
    return True


def _chat_email(summary: ChatSummary) -> EmailMultiAlternatives:
    conversation = summary.conversation
    path = reverse("messaging:conversation", args=[conversation.pk])
    context = {
        "summary": summary,
        "zone": conversation.organization.region.zone,
        "lines": [
            {
                "at": message.written_at,
                "author": message.author.full_name,
                "text": first_line(message),
            }
            for message in summary.newest
        ],
        "more": summary.count - len(summary.newest),
        "url": absolute_url(f"{path}#m{summary.first_unread}"),
        "settings_url": absolute_url(reverse("notifications:settings")),
    }
    subject = ngettext(
        "Новое сообщение в «%(title)s»",
        "Новых сообщений в «%(title)s»: %(count)s",
        summary.count,
    ) % {"title": conversation.title, "count": summary.count}
    mail = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string("notifications/chat_email.txt", context),
        to=[summary.person.email],
    )
    mail.attach_alternative(render_to_string("notifications/chat_email.html", context), "text/html")
    return mail

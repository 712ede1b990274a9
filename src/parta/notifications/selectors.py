"""Reads of notifications: where a push may go, who gets one for a message, and how."""

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.db.models import Q
from django.urls import reverse

from parta.accounts.models import Person
from parta.messaging.events import conversation_stream
from parta.messaging.models import Conversation, ConversationMember, Message
from parta.messaging.selectors import members_now
from parta.notifications.models import (
    ChatNotificationSettings,
    NotificationSettings,
    PushSubscription,
)
from parta.realtime.selectors import focused_streams

LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
# Posts by these members count as announcements ("only replies to me and announcements").
ANNOUNCERS = (
    ConversationMember.Role.OWNER,
    ConversationMember.Role.AUTHOR,
    ConversationMember.Role.MODERATOR,
)
FIRST_LINE_CHARS = 140


def endpoint_allowed(endpoint: str) -> bool:
    """Whether the push endpoint's host is in PARTA_PUSH_ALLOWED_HOSTS ("*.example.com"
    for its subdomains): https only, and on its default port, except on loopback (tests,
    a local push service), where plain http and any port are allowed."""
    try:
        parts = urlsplit(endpoint)
        port = parts.port
    except ValueError:
        return False
    host = (parts.hostname or "").lower()
    if not any(
        host == allowed or (allowed.startswith("*.") and host.endswith(allowed[1:]))
        for allowed in settings.PARTA_PUSH_ALLOWED_HOSTS
    ):
        return False
    if host in LOOPBACK:
        return parts.scheme in ("http", "https")
    return parts.scheme == "https" and port in (None, 443)


def notification_settings(person: Person) -> NotificationSettings:
    """The person's settings, the defaults if they never saved any (nothing stored)."""
    found = NotificationSettings.objects.filter(person=person).first()
    return found or NotificationSettings(person=person)


def chat_settings(person: Person, conversation: Conversation) -> ChatNotificationSettings:
    found = ChatNotificationSettings.objects.filter(person=person, conversation=conversation)
    return found.first() or ChatNotificationSettings(person=person, conversation=conversation)


# «Без звука до утра» ends at this hour in the school's zone.
MORNING = time(7, 0)


def next_morning(conversation: Conversation, now: datetime) -> datetime:
    """The first 07:00 after `now` in the zone of the chat's school."""
    local = now.astimezone(conversation.organization.region.zone)
    morning = local.replace(hour=MORNING.hour, minute=MORNING.minute, second=0, microsecond=0)
    return morning if morning > local else morning + timedelta(days=1)


@dataclass(frozen=True)
class ChatBell:
    """A person's notifications of one chat as they stand at a moment, for its page:
    `state` is "on", "off" (muted for good), "until" (muted until `until`) or "replies"."""

    conversation: Conversation
    state: str
    until: datetime | None


def chat_bell(person: Person, conversation: Conversation, now: datetime) -> ChatBell:
    """One query. A mute whose time has passed reads as on, as pushes_for treats it."""
    found = chat_settings(person, conversation)
    if found.muted:
        return ChatBell(conversation, "off", None)
    if found.muted_until is not None and found.muted_until > now:
        return ChatBell(conversation, "until", found.muted_until)
    if found.replies_and_announcements_only:
        return ChatBell(conversation, "replies", None)
    return ChatBell(conversation, "on", None)


def is_quiet(moment: datetime, quiet_from: time, quiet_until: time) -> bool:
    """Whether a local time falls in quiet hours; 21:00–07:00 spans midnight."""
    now = moment.time()
    if quiet_from <= quiet_until:
        return quiet_from <= now < quiet_until
    return now >= quiet_from or now < quiet_until


@dataclass(frozen=True)
class Push:
    subscription: PushSubscription
    payload: dict[str, object]


def pushes_for(message_id: int, people: list[int], now: datetime) -> list[Push]:
    """The pushes a new message makes: to each of `people` (the event's audience) who is
    still a member, has a subscription, is not its author, has no tab focused on its chat
    and has not muted the chat; silent in the person's quiet hours in the school's zone."""
    message = (
        Message.objects.select_related(
            "author", "reply_to", "conversation__organization__district__region"
        )
        .filter(pk=message_id, deleted_at__isnull=True, is_service=False)
        .first()
    )
    if message is None:
        return []
    conversation = message.conversation
    members = set(members_now(conversation, now).filter(person_id__in=people)) - {message.author_id}
    focused = focused_streams(members)
    stream = conversation_stream(conversation.pk)
    members = {pk for pk in members if stream not in focused.get(pk, set())}
    if not members:
        return []
    chats = {
        chat.person_id: chat
        for chat in ChatNotificationSettings.objects.filter(
            conversation=conversation, person_id__in=members
        )
    }
    announced = ConversationMember.objects.filter(
        conversation=conversation, person_id=message.author_id, role__in=ANNOUNCERS
    ).exists()
    reply_to_author = message.reply_to.author_id if message.reply_to else None

    def wants(pk: int) -> bool:
        chat = chats.get(pk)
        if chat is None:
            return True
        if chat.muted or (chat.muted_until is not None and chat.muted_until > now):
            return False
        return not chat.replies_and_announcements_only or announced or reply_to_author == pk

    members = {pk for pk in members if wants(pk)}
    quiet = {
        found.person_id: found
        for found in NotificationSettings.objects.filter(person_id__in=members)
    }
    local = now.astimezone(conversation.organization.region.zone)
    default = NotificationSettings()
    first_line = message.text.strip().splitlines()[0] if message.text.strip() else ""
    url = reverse("messaging:conversation", args=[conversation.pk]) + f"#m{message.pk}"
    pushes = []
    for subscription in PushSubscription.objects.filter(person_id__in=members).order_by("pk"):
        own = quiet.get(subscription.person_id, default)
        silent = own.quiet_hours and is_quiet(local, own.quiet_from, own.quiet_until)
        payload: dict[str, object] = {
            "title": conversation.title,
            "sender": message.author.full_name,
            "body": f"{message.author.full_name}: {first_line[:FIRST_LINE_CHARS]}",
            "url": url,
            "conversation_id": conversation.pk,
            "message_id": message.pk,
            "silent": silent,
        }
        pushes.append(Push(subscription, payload))
    return pushes


def subscriptions_of(person: Person) -> list[PushSubscription]:
    return list(PushSubscription.objects.filter(person=person).order_by("created_at"))


def muted_chats(person: Person, now: datetime) -> list[ChatNotificationSettings]:
    """The person's chats with notifications muted or reduced, for the settings page."""
    return list(
        ChatNotificationSettings.objects.filter(person=person)
        .filter(Q(muted=True) | Q(muted_until__gt=now) | Q(replies_and_announcements_only=True))
        .select_related("conversation")
        .order_by("conversation__title")
    )

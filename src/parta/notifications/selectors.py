"""Reads of notifications: where a push may go, who is told of a message and how (a push,
or the email fallback's summary of a chat)."""

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Count, Exists, Min, OuterRef, Q
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from parta.accounts.models import Person
from parta.invites.models import JoinRequest
from parta.messaging.events import conversation_stream
from parta.messaging.models import Conversation, ConversationMember, Message
from parta.messaging.selectors import access_to, members_now, unread_messages
from parta.messaging.services import ServiceNotice
from parta.notifications.models import (
    ChatEmail,
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
    found = NotificationSettings.objects.filter(person=person).select_related("person").first()
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


def is_muted(chat: ChatNotificationSettings | None, now: datetime) -> bool:
    return chat is not None and (
        chat.muted or (chat.muted_until is not None and chat.muted_until > now)
    )


def announced() -> Exists:
    """For Message rows: written by the chat's owner, an author or a moderator, whose posts
    pass "only replies to me and announcements"."""
    return Exists(
        ConversationMember.objects.filter(
            conversation_id=OuterRef("conversation_id"),
            person_id=OuterRef("author_id"),
            role__in=ANNOUNCERS,
        )
    )


@dataclass(frozen=True)
class Told:
    """A new message and whom of its audience it is news to: members who may read it, not
    its author, with no tab focused on its chat, who have not muted it."""

    message: Message
    people: frozenset[int]


def told_of(message_id: int, people: list[int], now: datetime) -> Told | None:
    """Whom of `people` (the event's audience) a new message is to be told to, by push or
    by the email fallback; None when it is gone or a service notice other than Parta's
    personal notice to its person."""
    message = (
        Message.objects.select_related(
            "author", "reply_to", "conversation__organization__district__region"
        )
        .annotate(announced=announced())
        .filter(pk=message_id, deleted_at__isnull=True)
        .first()
    )
    personal = message is not None and ServiceNotice.is_personal(message.service_kind)
    if message is None or (message.is_service and not personal):
        return None
    conversation = message.conversation
    members = set(members_now(conversation, now).filter(person_id__in=people))
    if not personal:  # a personal notice's "author" is the person it is for
        members.discard(message.author_id)
    focused = focused_streams(members)
    stream = conversation_stream(conversation.pk)
    members = {pk for pk in members if stream not in focused.get(pk, set())}
    if not members:
        return Told(message, frozenset())
    chats = {
        chat.person_id: chat
        for chat in ChatNotificationSettings.objects.filter(
            conversation=conversation, person_id__in=members
        )
    }
    reply_to_author = message.reply_to.author_id if message.reply_to else None

    def wants(pk: int) -> bool:
        chat = chats.get(pk)
        if chat is None:
            return True
        if is_muted(chat, now):
            return False
        return not chat.replies_and_announcements_only or message.announced or reply_to_author == pk

    return Told(message, frozenset(pk for pk in members if wants(pk)))


@dataclass(frozen=True)
class Push:
    subscription: PushSubscription
    payload: dict[str, object]


def _subscriptions(
    people: Collection[int], zone: ZoneInfo, now: datetime
) -> list[tuple[PushSubscription, bool]]:
    """Each subscription of these people, and whether a push to it is silent now (in the
    person's quiet hours, in the school's zone)."""
    quiet = {
        found.person_id: found
        for found in NotificationSettings.objects.filter(person_id__in=people)
    }
    local = now.astimezone(zone)
    default = NotificationSettings()
    found = []
    for subscription in PushSubscription.objects.filter(person_id__in=people).order_by("pk"):
        own = quiet.get(subscription.person_id, default)
        found.append(
            (subscription, own.quiet_hours and is_quiet(local, own.quiet_from, own.quiet_until))
        )
    return found


def pushes_for(told: Told | None, now: datetime) -> list[Push]:
    """A push to each subscription of those told; silent in the person's quiet hours in the
    school's zone."""
    if told is None or not told.people:
        return []
    message = told.message
    conversation = message.conversation
    url = reverse("messaging:conversation", args=[conversation.pk]) + f"#m{message.pk}"
    # A personal notice is Parta's, whoever's channel it is in.
    sender = _("Парта") if message.is_service else message.author.full_name
    return [
        Push(
            subscription,
            {
                "title": conversation.title,
                "sender": sender,
                "body": f"{sender}: {first_line(message)}",
                "url": url,
                "conversation_id": conversation.pk,
                "message_id": message.pk,
                "silent": silent,
            },
        )
        for subscription, silent in _subscriptions(
            told.people, conversation.organization.region.zone, now
        )
    ]


def rejection_pushes(join_request: JoinRequest, now: datetime) -> list[Push]:
    """The person is told their join request was rejected, and why: no chat of the school
    is theirs to carry it (they hold no role there), so it points to «Мои заявки»."""
    organization = join_request.organization
    # Stored nowhere, but worded as the school's other notices are: in Russian.
    with translation.override("ru"):
        title = _("Заявка отклонена")
        sender = _("Парта")
    body = f"«{organization}»: {join_request.reason}"
    return [
        Push(
            subscription,
            {
                "title": title,
                "sender": sender,
                "body": body,
                "url": reverse("invites:my-requests"),
                "tag": f"join-request-{join_request.pk}",
                "silent": silent,
            },
        )
        for subscription, silent in _subscriptions(
            [join_request.person_id], organization.region.zone, now
        )
    ]


def first_line(message: Message) -> str:
    text = message.text.strip()
    return text.splitlines()[0][:FIRST_LINE_CHARS] if text else ""


def _has_push() -> Exists:
    return Exists(PushSubscription.objects.filter(person_id=OuterRef("person_id")))


def emailed_of(told: Told | None) -> list[int]:
    """Those told who get the email fallback instead: it is on, they have an email
    address, and no browser of theirs is subscribed to pushes."""
    if told is None or not told.people:
        return []
    return list(
        NotificationSettings.objects.filter(person_id__in=told.people, email_fallback=True)
        .exclude(person__email="")
        .exclude(_has_push())
        .order_by("person_id")
        .values_list("person_id", flat=True)
    )


def anyone_to_tell(people: Iterable[int]) -> bool:
    """Whether any of `people` could be told of a message at all (a push subscription, or
    the email fallback on), in one query: the send path's only cost for notifications
    when nobody could be."""
    return Person.objects.filter(
        Exists(PushSubscription.objects.filter(person_id=OuterRef("pk")))
        | Exists(
            NotificationSettings.objects.filter(person_id=OuterRef("pk"), email_fallback=True)
        ),
        pk__in=list(people),
    ).exists()


# The email fallback: a message waits EMAIL_AFTER unread before its chat's email (time to
# read it in Parta), and a chat's email goes at most once per EMAIL_EVERY.
EMAIL_AFTER = timedelta(minutes=10)
EMAIL_EVERY = timedelta(hours=1)
EMAIL_MESSAGES = 3


def chat_emails_due(now: datetime) -> list[ChatEmail]:
    """The chats whose email may go at `now`: a message has waited EMAIL_AFTER, and the
    last email is EMAIL_EVERY old (or none went)."""
    return list(
        ChatEmail.objects.filter(pending_since__lte=now - EMAIL_AFTER)
        .filter(Q(last_emailed_at__isnull=True) | Q(last_emailed_at__lte=now - EMAIL_EVERY))
        .select_related("person", "conversation__organization__district__region")
        .order_by("pending_since", "pk")
    )


def in_quiet_hours(person: Person, conversation: Conversation, now: datetime) -> bool:
    """Whether it is the person's quiet hours in the school's zone of the conversation."""
    own = notification_settings(person)
    local = now.astimezone(conversation.organization.region.zone)
    return own.quiet_hours and is_quiet(local, own.quiet_from, own.quiet_until)


@dataclass(frozen=True)
class ChatSummary:
    """What a chat's email says: how many unread messages count, the newest few (oldest of
    them first) and the first unread one, where the link opens the chat."""

    person: Person
    conversation: Conversation
    count: int
    newest: list[Message]
    first_unread: int


def chat_summary(person: Person, conversation_id: int, now: datetime) -> ChatSummary | None:
    """The email fallback's summary of a chat for a person at `now`; None when no email is
    owed: the fallback is off or has no address, a browser of theirs takes pushes, they may
    no longer read the chat, it is muted, or nothing unread counts (read up to the newest;
    "only replies to me and announcements": only those count; a mute until a time: nothing
    written before it)."""
    own = notification_settings(person)
    if not (own.email_fallback and person.email):
        return None
    if PushSubscription.objects.filter(person=person).exists():
        return None
    access = access_to(person, conversation_id, now)
    if access is None or not access.may_read or access.member is None:
        return None
    conversation, member = access.conversation, access.member
    chat = chat_settings(person, conversation)
    if is_muted(chat, now):
        return None
    unread = unread_messages(person, conversation, member.read_up_to, member.joined_at)
    if chat.muted_until is not None:
        unread = unread.filter(written_at__gte=chat.muted_until)
    if chat.replies_and_announcements_only:
        unread = unread.filter(Q(announced()) | Q(reply_to__author=person))
    counted = unread.aggregate(count=Count("pk"), first=Min("pk"))
    if not counted["count"]:
        return None
    newest = list(unread.select_related("author").order_by("-pk")[:EMAIL_MESSAGES])
    return ChatSummary(person, conversation, counted["count"], newest[::-1], counted["first"])


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

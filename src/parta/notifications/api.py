"""/api/notifications/: a browser's push subscription, a person's notification settings
(quiet hours, the email fallback), a chat's."""

from datetime import datetime, time
from typing import Annotated

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.utils import timezone
from ninja import Field, Router, Schema, Status

from parta.api_errors import Id, signed_in_person
from parta.messaging.models import Conversation
from parta.notifications import selectors, services, vapid
from parta.notifications.models import NotificationSettings

router = Router(tags=["notifications"])

Key = Annotated[str, Field(min_length=1, max_length=200)]


class Keys(Schema):
    p256dh: Key
    auth: Key


class SubscriptionIn(Schema):
    """A browser's PushSubscription.toJSON()."""

    endpoint: Annotated[str, Field(min_length=1, max_length=1000)]
    keys: Keys


class Unsubscribe(Schema):
    endpoint: Annotated[str, Field(min_length=1, max_length=1000)]


class SubscriptionOut(Schema):
    id: int
    device: str


class PublicKeyOut(Schema):
    public_key: str


# A wall-clock time in the school's zone, "21:00": JSON Schema's "time" format demands an
# offset (and SQLite stores no aware times), which a daily quiet hour does not have.
LocalTime = Annotated[
    str,
    Field(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$", examples=["21:00"]),
]


class SettingsIn(Schema):
    quiet_hours: bool
    quiet_from: LocalTime
    quiet_until: LocalTime
    # Left out: kept as it is (clients that know only the quiet hours change nothing else).
    email_fallback: bool | None = Field(
        None, description="Письма о непрочитанных, когда нет push; нужен адрес эл. почты."
    )


class SettingsOut(Schema):
    quiet_hours: bool
    quiet_from: LocalTime
    quiet_until: LocalTime
    email_fallback: bool
    email_fallback_available: bool = Field(description="Есть ли у человека адрес эл. почты.")

    @staticmethod
    def resolve_quiet_from(settings: object) -> str:
        return _hours(settings, "quiet_from")

    @staticmethod
    def resolve_quiet_until(settings: object) -> str:
        return _hours(settings, "quiet_until")

    @staticmethod
    def resolve_email_fallback_available(settings: NotificationSettings) -> bool:
        return bool(settings.person.email)


def _hours(settings: object, name: str) -> str:
    value = getattr(settings, name) if not isinstance(settings, dict) else settings[name]
    return value.strftime("%H:%M") if isinstance(value, time) else str(value)


class ChatSettingsIO(Schema):
    muted: bool = False
    muted_until: datetime | None = None
    replies_and_announcements_only: bool = False


@router.get("/vapid-public-key", response=PublicKeyOut, summary="Ключ applicationServerKey")
def public_key(request: HttpRequest) -> dict[str, str]:
    return {"public_key": vapid.public_key()}


@router.post("/push-subscriptions", response={201: SubscriptionOut}, summary="Подписаться")
def subscribe(request: HttpRequest, payload: SubscriptionIn) -> Status:
    subscription = services.subscribe(
        signed_in_person(request),
        payload.endpoint,
        payload.keys.p256dh,
        payload.keys.auth,
        request.headers.get("User-Agent", ""),
        timezone.now(),
    )
    return Status(201, {"id": subscription.pk, "device": subscription.device})


@router.delete("/push-subscriptions", response={204: None}, summary="Отписаться")
def unsubscribe(request: HttpRequest, payload: Unsubscribe) -> Status:
    services.unsubscribe(signed_in_person(request), payload.endpoint)
    return Status(204, None)


@router.get("/settings", response=SettingsOut, summary="Тихие часы и письма")
def get_settings(request: HttpRequest) -> object:
    return selectors.notification_settings(signed_in_person(request))


@router.put("/settings", response=SettingsOut, summary="Изменить тихие часы и письма")
def put_settings(request: HttpRequest, payload: SettingsIn) -> object:
    return services.save_settings(
        signed_in_person(request),
        payload.quiet_hours,
        time.fromisoformat(payload.quiet_from),
        time.fromisoformat(payload.quiet_until),
        payload.email_fallback,
    )


@router.put(
    "/conversations/{conversation_id}", response=ChatSettingsIO, summary="Уведомления беседы"
)
def put_chat_settings(request: HttpRequest, conversation_id: Id, payload: ChatSettingsIO) -> object:
    conversation = get_object_or_404(Conversation, pk=conversation_id, deleted_at__isnull=True)
    return services.save_chat_settings(
        signed_in_person(request),
        conversation,
        muted=payload.muted,
        muted_until=payload.muted_until,
        replies_and_announcements_only=payload.replies_and_announcements_only,
        now=timezone.now(),
    )

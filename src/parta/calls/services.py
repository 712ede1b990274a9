"""Writes about calls and who was in them. Each function is one transaction.

A stay of a person is [joined_at, left_at). Parta's signaling opens it when a tab connects,
or Janus's event handler when the person's media joins the call's room (record_media_events),
and it closes when the person's last tab or media connection leaves, disconnects or falls
silent; creating a call puts nobody in it. A heartbeat
every ~10 s keeps last_seen_at fresh, and a stay silent for PARTA_CALL_HEARTBEAT_TIMEOUT
seconds is closed at its last heartbeat (by the consumer, or by `parta sweep-calls` when the
process that held the socket is gone).
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Exists, Max, OuterRef
from django.utils import timezone
from django.utils.translation import gettext as _

from parta.accounts.models import Person
from parta.accounts.selectors import roles_at
from parta.accounts.services import record_audit
from parta.bulk import insert_models
from parta.calls import events
from parta.calls.janus import JOINED, LEFT, ROOM_GONE, SESSION_GONE, RoomEvent, janus_config
from parta.calls.media import JANUS, close_media, wanted_media
from parta.calls.models import Call, CallGuest, CallParticipation, MediaConnection, MediaEvent
from parta.calls.selectors import (
    active_call,
    guest_refused,
    held_moment,
    is_removed,
    may_manage,
    may_open_to_outsiders,
    present_count,
)
from parta.calls.tokens import new_token, token_hash
from parta.messaging.models import Conversation
from parta.messaging.selectors import is_member, may_post, may_read
from parta.messaging.services import ServiceNotice, post_service_notice
from parta.structure.models import Organization

MAX_TITLE_LENGTH = 200
# Calls whose held moment is stored again in one UPDATE (bound parameters stay few).
REFRESH_BATCH = 5_000


def refresh_held(call_ids: Iterable[int]) -> None:
    """Store again when each call was first held, from its stays as they are now.

    Every write of stays ends with this, in the same transaction. The calls' rows are
    locked first, so two people joining at once cannot each miss the other's stay.
    """
    ids = sorted(set(call_ids))
    for start in range(0, len(ids), REFRESH_BATCH):
        batch = ids[start : start + REFRESH_BATCH]
        list(Call.objects.select_for_update().filter(pk__in=batch).order_by("pk").values("pk"))
        Call.objects.filter(pk__in=batch).update(held_at=held_moment())


class StaysFromHistory:
    """Stays of a history (an import) written in batches; the held moments of their calls
    are stored once, by `finish()`, in the same transaction, instead of after every batch."""

    def __init__(self) -> None:
        self.calls: set[int] = set()

    def add(self, stays: list[CallParticipation]) -> None:
        insert_models(CallParticipation, stays)
        self.calls.update(stay.call_id for stay in stays)

    def finish(self) -> None:
        refresh_held(self.calls)
        self.calls = set()


def call_group(call_id: int) -> str:
    """The channel-layer group of the call's open signaling sockets."""
    return f"call-{call_id}"


def _tell_sockets(call: Call, message: dict[str, Any]) -> None:
    """Once the transaction commits, tell the call's open sockets (removal, end)."""

    def send() -> None:
        layer = get_channel_layer()
        if layer is not None:
            async_to_sync(layer.group_send)(call_group(call.pk), message)

    transaction.on_commit(send, robust=True)


MAX_GUEST_NAME_LENGTH = 100


@transaction.atomic
def start_call(
    creator: Person,
    organization: Organization,
    *,
    conversation: Conversation | None = None,
    at: datetime | None = None,
    title: str = "",
    audio_only: bool = False,
    allow_anonymous: bool = False,
) -> Call:
    """Create a call. Nobody is in it yet: a person's stay starts when their signaling or
    media connection does (`connect`), so a call whose creator never came is not held."""
    moment = at or timezone.now()
    if conversation is not None:
        if conversation.organization_id != organization.pk:
            raise ValidationError(_("Беседа принадлежит другой организации."))
        if not is_member(creator, conversation):
            raise PermissionDenied(_("Начать звонок в беседе могут только её участники."))
    elif not roles_at(creator, organization, moment):
        raise PermissionDenied(_("Начать звонок могут только участники организации."))
    if len(title.strip()) > MAX_TITLE_LENGTH:
        raise ValidationError(_("Тема звонка длиннее %(n)s знаков.") % {"n": MAX_TITLE_LENGTH})
    if allow_anonymous:
        _require_opener(creator, organization, moment)
    call = Call(
        organization=organization,
        conversation=conversation,
        created_by=creator,
        created_at=moment,
        title=title.strip(),
        audio_only=audio_only,
        allow_anonymous=allow_anonymous,
    )
    call.media = wanted_media(call, present=0)
    call.save()
    return call


@dataclass
class OpenedCall:
    call: Call
    link_token: str | None  # shown once to the creator, never stored
    created: bool


@transaction.atomic
def open_call(
    creator: Person,
    organization: Organization,
    *,
    conversation: Conversation | None = None,
    title: str = "",
    audio_only: bool = False,
    allow_anonymous: bool = False,
    with_link: bool = False,
    at: datetime | None = None,
) -> OpenedCall:
    """Start a call now. In a conversation its members get a live «Join» and a service
    notice (and a conversation's call that is still on is joined, not doubled); a call
    outside any conversation always gets an invite link."""
    moment = at or timezone.now()
    if conversation is not None:
        if conversation.deleted_at is not None:
            raise ValidationError(_("Беседа удалена."))
        running = active_call(conversation)
        if running is not None and is_member(creator, conversation):
            return OpenedCall(running, None, created=False)
    if with_link or conversation is None:
        _require_opener(creator, organization, moment)
    call = start_call(
        creator,
        organization,
        conversation=conversation,
        at=moment,
        title=title,
        audio_only=audio_only,
        allow_anonymous=allow_anonymous,
    )
    token = _new_link(call) if with_link or conversation is None else None
    if conversation is not None:
        post_service_notice(conversation, creator, ServiceNotice.CALL_STARTED, at=moment)
        events.call_started(call, conversation).publish()
    return OpenedCall(call, token, created=True)


# Co-presenters a broadcast's starter may name besides themselves: a panel, not a call.
MAX_CO_PRESENTERS = 4


@transaction.atomic
def open_broadcast(
    creator: Person,
    conversation: Conversation,
    *,
    co_presenters: Iterable[Person] = (),
    title: str = "",
    at: datetime | None = None,
) -> OpenedCall:
    """Start a broadcast (трансляция) in a chat or a channel: the starter and the
    co-presenters they name present, the conversation's other members watch and write in
    it. Whoever may post in the conversation may start one (messaging's own rule: in a
    channel, its authors and the school's admins). Only through Janus (media.BroadcastBackend
    keeps viewers from publishing); without it, a refusal that says so. A broadcast already
    on in the conversation is joined, not doubled; a call on there is not turned into one."""
    moment = at or timezone.now()
    if conversation.deleted_at is not None:
        raise ValidationError(_("Беседа удалена."))
    if not may_post(creator, conversation, moment):
        raise PermissionDenied(
            _(
                "Начать трансляцию может тот, кто пишет в эту беседу: в канале — его авторы "
                "и администраторы школы."
            )
        )
    # Checked after the right to start one: a refusal says why to those who could.
    if janus_config() is None:
        raise ValidationError(
            _("Трансляции идут через сервер видеосвязи (Janus), а он здесь не настроен."),
            code="no_sfu",
        )
    running = active_call(conversation)
    if running is not None:
        if running.kind == Call.Kind.BROADCAST:
            return OpenedCall(running, None, created=False)
        raise ValidationError(_("В беседе идёт звонок: трансляцию можно начать после него."))
    others = list(
        {person.pk: person for person in co_presenters if person.pk != creator.pk}.values()
    )
    if len(others) > MAX_CO_PRESENTERS:
        raise ValidationError(
            _("Соведущих не больше %(n)s.") % {"n": MAX_CO_PRESENTERS}, code="invalid"
        )
    for person in others:
        if not may_read(person, conversation, moment):
            raise ValidationError(
                _("%(name)s не участник этой беседы: соведущим быть не может.")
                % {"name": person.full_name}
            )
    if len(title.strip()) > MAX_TITLE_LENGTH:
        raise ValidationError(_("Тема звонка длиннее %(n)s знаков.") % {"n": MAX_TITLE_LENGTH})
    broadcast = Call.objects.create(
        organization=conversation.organization,
        conversation=conversation,
        created_by=creator,
        created_at=moment,
        title=title.strip(),
        kind=Call.Kind.BROADCAST,
        media=JANUS,
    )
    broadcast.presenters.set([creator, *others])
    post_service_notice(conversation, creator, ServiceNotice.BROADCAST_STARTED, at=moment)
    events.call_started(broadcast, conversation).publish()
    return OpenedCall(broadcast, None, created=True)


def _new_link(call: Call) -> str:
    token = new_token()
    call.link_hash = token_hash(token)
    call.save(update_fields=["link_hash"])
    return token


def _require_opener(person: Person, organization: Organization, moment: datetime) -> None:
    if not may_open_to_outsiders(person, organization, moment):
        raise PermissionDenied(
            _(
                "Звонок по ссылке и с гостями могут открыть только учителя, сотрудники и "
                "администраторы школы."
            )
        )


def _require_manager(call: Call, person: Person, moment: datetime) -> None:
    if not may_manage(person, call, moment):
        raise PermissionDenied(_("Это могут только создатель звонка и администраторы школы."))


@transaction.atomic
def create_link(call: Call, *, by: Person, at: datetime | None = None) -> str:
    """A new invite link for people outside the conversation; the previous one stops working."""
    moment = at or timezone.now()
    _require_manager(call, by, moment)
    _require_opener(by, call.organization, moment)
    if call.ended_at is not None:
        raise ValidationError(_("Звонок уже завершён."))
    return _new_link(call)


@transaction.atomic
def set_anonymous(call: Call, allowed: bool, *, by: Person, at: datetime | None = None) -> Call:
    """Let people who are not signed in join by the link (with a name they type), or stop."""
    moment = at or timezone.now()
    _require_manager(call, by, moment)
    if allowed:
        _require_opener(by, call.organization, moment)
    call.allow_anonymous = allowed
    call.save(update_fields=["allow_anonymous"])
    return call


def call_by_link(token: str) -> Call:
    call = Call.objects.filter(link_hash=token_hash(token)).first() if token.strip() else None
    if call is None:
        raise ValidationError(_("Ссылка на звонок недействительна."))
    if call.ended_at is not None:
        raise ValidationError(_("Звонок уже завершён."))
    return call


@transaction.atomic
def join_call(call: Call, person: Person, *, at: datetime | None = None) -> CallParticipation:
    moment = at or timezone.now()
    if call.ended_at is not None and call.ended_at <= moment:
        raise ValidationError(_("Звонок уже завершён."))
    if is_removed(call, person):
        raise PermissionDenied(_("Вас удалили из этого звонка."))
    current = CallParticipation.objects.filter(call=call, person=person, left_at__isnull=True)
    existing = current.first()
    if existing is not None:
        return existing
    stay = CallParticipation.objects.create(
        call=call, person=person, joined_at=moment, last_seen_at=moment
    )
    refresh_held([call.pk])
    return stay


@transaction.atomic
def leave_call(call: Call, person: Person, *, at: datetime | None = None) -> CallParticipation:
    moment = at or timezone.now()
    stay = (
        CallParticipation.objects.select_for_update()
        .filter(call=call, person=person, left_at__isnull=True)
        .first()
    )
    if stay is None:
        raise ValidationError(_("Этого человека нет в звонке."))
    stay.left_at = max(moment, stay.joined_at)
    stay.connections = 0
    stay.save(update_fields=["left_at", "connections"])
    refresh_held([call.pk])
    return stay


@transaction.atomic
def connect(call: Call, person: Person, *, at: datetime | None = None) -> CallParticipation:
    """A tab of the person opened the call's signaling: they are in it (one stay per person,
    however many tabs)."""
    moment = at or timezone.now()
    stay = join_call(call, person, at=moment)
    stay = CallParticipation.objects.select_for_update().get(pk=stay.pk)
    stay.connections += 1
    stay.last_seen_at = moment
    stay.save(update_fields=["connections", "last_seen_at"])
    return stay


@transaction.atomic
def disconnect(
    call: Call, person: Person, *, at: datetime | None = None
) -> CallParticipation | None:
    """A tab left (or fell silent at `at`); the stay ends when it was the person's last tab.
    None when the stay had already been closed (removed, swept, call ended)."""
    moment = at or timezone.now()
    stay = (
        CallParticipation.objects.select_for_update()
        .filter(call=call, person=person, left_at__isnull=True)
        .first()
    )
    if stay is None:
        return None
    stay.connections = max(stay.connections - 1, 0)
    if stay.connections == 0:
        stay.left_at = max(moment, stay.joined_at)
    stay.save(update_fields=["connections", "left_at"])
    if stay.left_at is not None:
        refresh_held([call.pk])
    return stay


@transaction.atomic
def heartbeat(call: Call, person: Person, *, at: datetime | None = None) -> CallParticipation:
    """The person's tab is alive. A stay already closed for silence (the network came back
    after the timeout) is not stretched over the gap: a new stay starts now."""
    moment = at or timezone.now()
    updated = CallParticipation.objects.filter(
        call=call, person=person, left_at__isnull=True
    ).update(last_seen_at=moment)
    if updated:
        return CallParticipation.objects.get(call=call, person=person, left_at__isnull=True)
    return connect(call, person, at=moment)


@transaction.atomic
def guest_enter(call: Call, key: str, name: str, *, at: datetime | None = None) -> CallGuest:
    """An anonymous guest's tab joins by link under the name they typed."""
    moment = at or timezone.now()
    name = " ".join(name.split())
    if not name:
        raise ValidationError(_("Представьтесь: введите имя."))
    if len(name) > MAX_GUEST_NAME_LENGTH:
        raise ValidationError(_("Имя длиннее %(n)s знаков.") % {"n": MAX_GUEST_NAME_LENGTH})
    if call.ended_at is not None:
        raise ValidationError(_("Звонок уже завершён."))
    if not call.allow_anonymous:
        raise PermissionDenied(_("В этот звонок гости без входа не допускаются."))
    if guest_refused(call, key):
        raise PermissionDenied(_("Вас удалили из этого звонка."))
    return CallGuest.objects.create(
        call=call, key=key, display_name=name, joined_at=moment, last_seen_at=moment
    )


@transaction.atomic
def guest_heartbeat(guest: CallGuest, *, at: datetime | None = None) -> bool:
    """False when the stay is over (swept, removed, call ended): the tab must rejoin."""
    return bool(
        CallGuest.objects.filter(pk=guest.pk, left_at__isnull=True).update(
            last_seen_at=at or timezone.now()
        )
    )


@transaction.atomic
def guest_leave(guest: CallGuest, *, at: datetime | None = None) -> None:
    moment = at or timezone.now()
    stay = CallGuest.objects.select_for_update().get(pk=guest.pk)
    if stay.left_at is None:
        stay.left_at = max(moment, stay.joined_at)
        stay.save(update_fields=["left_at"])


@transaction.atomic
def remove_participant(
    call: Call, person: Person, *, by: Person, at: datetime | None = None
) -> CallParticipation:
    """The creator or an admin takes a person out of the call; they cannot come back to it."""
    moment = at or timezone.now()
    _require_manager(call, by, moment)
    if person.pk == by.pk:
        raise ValidationError(_("Себя не удаляют: просто покиньте звонок."))
    stay = (
        CallParticipation.objects.select_for_update()
        .filter(call=call, person=person)
        .order_by("-joined_at", "-id")
        .first()
    )
    if stay is None:
        raise ValidationError(_("%(name)s не был в этом звонке.") % {"name": person.full_name})
    if stay.left_at is None:
        stay.left_at = max(moment, stay.joined_at)
    stay.removed_by = by
    stay.connections = 0
    stay.save(update_fields=["left_at", "removed_by", "connections"])
    refresh_held([call.pk])
    _tell_sockets(call, {"type": "call.removed", "person_id": person.pk, "guest_id": None})
    record_audit(
        "call_participant_removed",
        actor=by,
        organization=call.organization,
        subject=person,
        call=call.pk,
    )
    return stay


@transaction.atomic
def remove_guest(guest: CallGuest, *, by: Person, at: datetime | None = None) -> CallGuest:
    moment = at or timezone.now()
    _require_manager(guest.call, by, moment)
    guest = CallGuest.objects.select_for_update().get(pk=guest.pk)
    if guest.left_at is None:
        guest.left_at = max(moment, guest.joined_at)
    guest.removed = True
    guest.save(update_fields=["left_at", "removed"])
    _tell_sockets(guest.call, {"type": "call.removed", "person_id": None, "guest_id": guest.pk})
    return guest


@transaction.atomic
def end_call(call: Call, *, at: datetime | None = None) -> Call:
    """End the call for everyone: every open stay closes at the same moment. Of two ends at
    once (two moderators, two sweeps) only the one that sets ended_at announces it."""
    moment = at or timezone.now()
    if call.ended_at is not None:
        return call
    # Stays before the call's row, in the order every write of stays takes its locks.
    for stay in CallParticipation.objects.select_for_update().filter(
        call=call, left_at__isnull=True
    ):
        stay.left_at = max(moment, stay.joined_at)
        stay.connections = 0
        stay.save(update_fields=["left_at", "connections"])
    for guest in CallGuest.objects.select_for_update().filter(call=call, left_at__isnull=True):
        guest.left_at = max(moment, guest.joined_at)
        guest.save(update_fields=["left_at"])
    if not Call.objects.filter(pk=call.pk, ended_at__isnull=True).update(ended_at=moment):
        call.refresh_from_db(fields=["ended_at"])
        return call
    call.ended_at = moment
    refresh_held([call.pk])
    _tell_sockets(call, {"type": "call.ended"})
    _announce_end(call)
    return call


def _announce_end(call: Call) -> None:
    if call.conversation is not None:
        events.call_ended(call, call.conversation).publish()
    transaction.on_commit(lambda: close_media(call), robust=True)


@transaction.atomic
def settle_media(call: Call) -> bool:
    """Move the call to the media path it should use with the people in it now (a mesh
    call that outgrew the mesh goes to Janus). True when this write moved it: the caller
    tells the call's sockets. Of two settles at once only one moves it."""
    wanted = wanted_media(call, present_count(call))
    if wanted == call.media:
        return False
    moved = Call.objects.filter(pk=call.pk, media=call.media).update(media=wanted)
    call.media = wanted
    return bool(moved)


@transaction.atomic
def finish_call(call: Call, *, by: Person, at: datetime | None = None) -> Call:
    """The creator or an admin ends the call for everyone."""
    moment = at or timezone.now()
    _require_manager(call, by, moment)
    return end_call(call, at=moment)


@dataclass
class Sweep:
    stays_closed: int
    calls_ended: int


def _timeout() -> timedelta:
    return timedelta(seconds=settings.PARTA_CALL_HEARTBEAT_TIMEOUT)


@transaction.atomic
def sweep_calls(*, now: datetime | None = None, call: Call | None = None) -> Sweep:
    """Close stays whose tab has been silent longer than the heartbeat timeout, each at its
    last heartbeat; end calls that have stood empty that long, at their last leave, and
    calls nobody came to within that time, at their start.
    Stays without heartbeats (imported history) are left alone."""
    moment = now or timezone.now()
    cutoff = moment - _timeout()
    closed = 0
    silent_people = CallParticipation.objects.select_for_update().filter(
        left_at__isnull=True, last_seen_at__lt=cutoff
    )
    silent_guests = CallGuest.objects.select_for_update().filter(
        left_at__isnull=True, last_seen_at__lt=cutoff
    )
    if call is not None:
        silent_people = silent_people.filter(call=call)
        silent_guests = silent_guests.filter(call=call)
    touched: set[int] = set()
    for stay in silent_people:
        stay.left_at = max(stay.last_seen_at or stay.joined_at, stay.joined_at)
        stay.connections = 0
        stay.save(update_fields=["left_at", "connections"])
        touched.add(stay.call_id)
        closed += 1
    refresh_held(touched)
    for guest in silent_guests:
        guest.left_at = max(guest.last_seen_at or guest.joined_at, guest.joined_at)
        guest.save(update_fields=["left_at"])
        closed += 1
    empty = (
        Call.objects.filter(ended_at__isnull=True, created_at__lt=cutoff)
        .filter(
            Exists(
                CallParticipation.objects.filter(call=OuterRef("pk"), last_seen_at__isnull=False)
            )
        )
        .exclude(
            Exists(CallParticipation.objects.filter(call=OuterRef("pk"), left_at__isnull=True))
        )
        .exclude(Exists(CallGuest.objects.filter(call=OuterRef("pk"), left_at__isnull=True)))
        .annotate(last_left=Max("participations__left_at"))
        .filter(last_left__lt=cutoff)
        .select_related("conversation", "created_by")
    )
    # Calls nobody ever came to (created here, not imported) end when they were created.
    never_joined = (
        Call.objects.filter(ended_at__isnull=True, created_at__lt=cutoff, external_id__isnull=True)
        .exclude(Exists(CallParticipation.objects.filter(call=OuterRef("pk"))))
        .exclude(Exists(CallGuest.objects.filter(call=OuterRef("pk"))))
        .select_related("conversation", "created_by")
    )
    if call is not None:
        empty = empty.filter(pk=call.pk)
        never_joined = never_joined.filter(pk=call.pk)
    ended = 0
    for unused in never_joined:
        end_call(unused, at=unused.created_at)
        ended += 1
    for quiet in empty:
        last_guest = CallGuest.objects.filter(call=quiet).aggregate(last=Max("left_at"))["last"]
        if last_guest is not None and last_guest >= cutoff:
            continue
        end_call(quiet, at=max(filter(None, (quiet.last_left, last_guest))))
        ended += 1
    return Sweep(closed, ended)


@transaction.atomic
def record_media_events(found: list[RoomEvent], *, now: datetime | None = None) -> int:
    """Apply what Janus's event handler reported (calls.janus.room_events), in order: a
    join opens a media connection of the person's stay (and the stay, if none is open), a
    leave, a detached handle, a gone session or room closes theirs. An event already
    applied (same id) is skipped; so is a join to a call that ended or that the person was
    removed from. The number of events applied."""
    moment = now or timezone.now()
    applied = 0
    for event in found:
        _, fresh = MediaEvent.objects.get_or_create(
            event_id=event.event_id, defaults={"received_at": moment}
        )
        if not fresh:
            continue
        applied += 1
        if event.kind == JOINED:
            _media_joined(event)
            continue
        which: dict[str, Any]
        if event.kind == LEFT:
            which = {"call_id": event.room, "feed": event.feed}
        elif event.kind == ROOM_GONE:
            which = {"call_id": event.room}
        elif event.kind == SESSION_GONE:
            which = {"session": event.session}
        else:
            which = {"handle": event.handle}
        _media_left(MediaConnection.objects.filter(left_at__isnull=True, **which), event.at)
    return applied


def _media_joined(event: RoomEvent) -> None:
    identity = event.identity or ""
    call = Call.objects.filter(pk=event.room or 0, media=JANUS).first()
    # Guests' stays are their signaling's (they never count for the held rule).
    person = (
        Person.objects.filter(pk=int(identity[1:])).first()
        if identity.startswith("p") and identity[1:].isdigit()
        else None
    )
    if call is None or person is None:
        return
    connection, created = MediaConnection.objects.get_or_create(
        call=call,
        feed=event.feed,
        defaults={
            "person": person,
            "session": event.session,
            "handle": event.handle,
            "joined_at": event.at,
        },
    )
    if not created:
        return
    try:
        with transaction.atomic():
            connect(call, person, at=event.at)
    except (ValidationError, PermissionDenied):
        connection.left_at = event.at  # ended or removed: this connection counts for nothing
        connection.save(update_fields=["left_at"])


def _media_left(connections: Any, at: datetime) -> None:
    for connection in connections.select_for_update().select_related("call", "person"):
        connection.left_at = max(at, connection.joined_at)
        connection.save(update_fields=["left_at"])
        disconnect(connection.call, connection.person, at=connection.left_at)

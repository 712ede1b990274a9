"""Calls API: start a call (in a conversation or standalone with a link), its state, links,
anonymous guests, removal, ending, ICE servers and history.

Refusals answer 400/403 with {"detail", "code"}; a call the caller may not see answers 404.
The invite token is in the answer once (as the link), never again.
"""

import base64
import binascii
import hmac
import json
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Router, Schema, Status
from ninja.errors import HttpError

from parta.accounts.models import Person
from parta.api_errors import Id, signed_in_person
from parta.calls import selectors, services
from parta.calls.janus import janus_config, room_events
from parta.calls.media import ice_servers
from parta.calls.models import Call
from parta.calls.sessions import admit_by_link, link_hash_for
from parta.calls.tokens import link_path
from parta.messaging.api import PersonRef
from parta.messaging.models import Conversation
from parta.messaging.selectors import membership
from parta.structure.models import Organization

router = Router(tags=["calls"])


class CallOut(Schema):
    id: int
    kind: str  # "call" or "broadcast" (трансляция)
    title: str
    organization_id: int
    conversation_id: int | None
    created_by: PersonRef
    created_at: datetime
    ended_at: datetime | None
    allow_anonymous: bool
    audio_only: bool
    has_link: bool
    url: str


class CallIn(Schema):
    conversation_id: Id | None = None
    organization_id: Id | None = None
    title: str = ""
    audio_only: bool = False
    allow_anonymous: bool = False
    with_link: bool = False


class CallStarted(Schema):
    call: CallOut
    created: bool
    link: str | None  # shown once


class AttendeeOut(Schema):
    name: str
    person_id: int | None
    seconds: int
    present: bool


class CallDetail(Schema):
    call: CallOut
    may_manage: bool
    present: int
    attendees: list[AttendeeOut]
    duration_seconds: int | None


class CallPatch(Schema):
    allow_anonymous: bool


class CallLinkOut(Schema):
    link: str


class RemoveIn(Schema):
    person_id: Id


class RedeemIn(Schema):
    token: str


class IceOut(Schema):
    ice_servers: list[dict[str, Any]]


def _visible_call(request: HttpRequest, person: Person, pk: int) -> Call:
    """A call the person may join now, manages, or was in; otherwise 404."""
    call = get_object_or_404(
        Call.objects.select_related("organization", "conversation", "created_by"), pk=pk
    )
    now = timezone.now()
    link = link_hash_for(request.session, call.pk)
    if selectors.may_join(person, call, now, link_hash=link) or selectors.may_see_history(
        person, call, now
    ):
        return call
    raise Http404


def _detail(person: Person, call: Call) -> dict[str, Any]:
    now = timezone.now()
    summary = selectors.call_summary(call, now)
    duration = summary.duration
    return {
        "call": selectors.call_data(call),
        "may_manage": selectors.may_manage(person, call, now),
        "present": selectors.present_count(call),
        "attendees": [vars(a) for a in summary.attendees],
        "duration_seconds": None if duration is None else int(duration.total_seconds()),
    }


@router.post("/", response={201: CallStarted, 200: CallStarted})
def start_call(request: HttpRequest, payload: CallIn) -> Any:
    """Start a call in a conversation (its members are told) or, with organization_id
    only, a standalone call with an invite link."""
    person = signed_in_person(request)
    conversation = None
    if payload.conversation_id is not None:
        conversation = get_object_or_404(
            Conversation.objects.select_related("organization"), pk=payload.conversation_id
        )
        if membership(person, conversation) is None:
            raise Http404
        organization = conversation.organization
    elif payload.organization_id is not None:
        organization = get_object_or_404(Organization, pk=payload.organization_id)
    else:
        raise ValidationError("conversation_id или organization_id", code="invalid")
    opened = services.open_call(
        person,
        organization,
        conversation=conversation,
        title=payload.title,
        audio_only=payload.audio_only,
        allow_anonymous=payload.allow_anonymous,
        with_link=payload.with_link,
    )
    body = {
        "call": selectors.call_data(opened.call),
        "created": opened.created,
        "link": request.build_absolute_uri(link_path(opened.link_token))
        if opened.link_token
        else None,
    }
    return Status(201 if opened.created else 200, body)


class BroadcastIn(Schema):
    conversation_id: Id
    title: str = ""
    co_presenter_ids: list[Id] = []


@router.post("/broadcasts", response={201: CallStarted, 200: CallStarted})
def start_broadcast(request: HttpRequest, payload: BroadcastIn) -> Any:
    """Start a broadcast in a chat or a channel (the members are told), with co-presenters
    from its members; 400 when Janus is not configured (code «no_sfu»)."""
    person = signed_in_person(request)
    conversation = get_object_or_404(
        Conversation.objects.select_related("organization"), pk=payload.conversation_id
    )
    if membership(person, conversation) is None:
        raise Http404
    wanted = set(payload.co_presenter_ids)
    co_presenters = list(Person.objects.filter(pk__in=wanted))
    if len(co_presenters) != len(wanted):
        raise ValidationError(_("Соведущий не найден."), code="invalid")
    opened = services.open_broadcast(
        person, conversation, co_presenters=co_presenters, title=payload.title
    )
    body = {"call": selectors.call_data(opened.call), "created": opened.created, "link": None}
    return Status(201 if opened.created else 200, body)


@router.get("/history", response=list[CallDetail])
def history(request: HttpRequest, conversation_id: Id | None = None) -> list[dict[str, Any]]:
    """The conversation's calls (members only), or without it the caller's own calls."""
    person = signed_in_person(request)
    now = timezone.now()
    if conversation_id is not None:
        conversation = get_object_or_404(Conversation, pk=conversation_id)
        if membership(person, conversation) is None:
            raise Http404
        summaries = selectors.conversation_history(conversation, now, limit=50)
    else:
        summaries = selectors.person_history(person, now)
    return [
        {
            "call": selectors.call_data(s.call),
            "may_manage": selectors.may_manage(person, s.call, now),
            "present": sum(1 for a in s.attendees if a.present),
            "attendees": [vars(a) for a in s.attendees],
            "duration_seconds": None if s.duration is None else int(s.duration.total_seconds()),
        }
        for s in summaries
    ]


@router.post("/links/redeem", response={200: CallOut})
def redeem_link(request: HttpRequest, payload: RedeemIn) -> Any:
    """Present an invite token: this session may then join the call."""
    call = services.call_by_link(payload.token)
    admit_by_link(request.session, call)
    return selectors.call_data(call)


class JanusEventsOut(Schema):
    applied: int


def _janus_authorized(request: HttpRequest) -> bool:
    """HTTP basic auth as Janus's event handler sends it: user "janus", the events secret
    as password, compared in constant time."""
    secret = settings.PARTA_JANUS_EVENTS_SECRET
    kind, _sep, encoded = request.headers.get("Authorization", "").partition(" ")
    if not secret or kind.lower() != "basic":
        return False
    try:
        given = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        return False
    return hmac.compare_digest(given, f"janus:{secret}".encode())


@router.post("/janus/events", auth=None, response={200: JanusEventsOut})
def janus_events(request: HttpRequest) -> Any:
    """Janus's event handler (deploy/janus/): joins and leaves of the calls' rooms, which
    open and close the people's stays. A repeated event changes nothing."""
    config = janus_config()
    if config is None or not _janus_authorized(request):
        raise HttpError(401, _("Нужен секрет обработчика событий Janus."))
    try:
        found = room_events(config, json.loads(request.body))
    except ValueError as bad:  # JSONDecodeError and UnicodeDecodeError included
        raise ValidationError(
            _("События Janus: %(error)s") % {"error": bad}, code="invalid"
        ) from None
    return {"applied": services.record_media_events(found)}


@router.get("/{call_id}", response={200: CallDetail})
def call_detail(request: HttpRequest, call_id: Id) -> Any:
    person = signed_in_person(request)
    return _detail(person, _visible_call(request, person, call_id))


@router.patch("/{call_id}", response={200: CallOut})
def update_call(request: HttpRequest, call_id: Id, payload: CallPatch) -> Any:
    person = signed_in_person(request)
    call = _visible_call(request, person, call_id)
    return selectors.call_data(services.set_anonymous(call, payload.allow_anonymous, by=person))


@router.post("/{call_id}/link", response={201: CallLinkOut})
def new_link(request: HttpRequest, call_id: Id) -> Any:
    """A new invite link (the old one stops working); the token is shown this once."""
    person = signed_in_person(request)
    call = _visible_call(request, person, call_id)
    link = link_path(services.create_link(call, by=person))
    return Status(201, {"link": request.build_absolute_uri(link)})


@router.get("/{call_id}/ice", response={200: IceOut})
def ice(request: HttpRequest, call_id: Id) -> Any:
    person = signed_in_person(request)
    _visible_call(request, person, call_id)
    return {"ice_servers": ice_servers(f"p{person.pk}", timezone.now())}


@router.post("/{call_id}/remove", response={200: CallDetail})
def remove_participant(request: HttpRequest, call_id: Id, payload: RemoveIn) -> Any:
    person = signed_in_person(request)
    call = _visible_call(request, person, call_id)
    target = get_object_or_404(Person, pk=payload.person_id)
    services.remove_participant(call, target, by=person)
    return _detail(person, call)


@router.post("/{call_id}/end", response={200: CallDetail})
def end_call(request: HttpRequest, call_id: Id) -> Any:
    person = signed_in_person(request)
    call = _visible_call(request, person, call_id)
    services.finish_call(call, by=person)
    return _detail(person, call)

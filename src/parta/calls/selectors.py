"""Reads about calls: who may join or manage one, who is in it now, history with durations."""

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db.models import (
    Case,
    DateTimeField,
    Exists,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.expressions import Combinable
from django.db.models.functions import Coalesce, Greatest
from django.urls import reverse

from parta.accounts.models import Person, Role
from parta.accounts.selectors import STAFF_ROLES, roles_at
from parta.calls.models import Call, CallGuest, CallParticipation
from parta.messaging.models import Conversation
from parta.messaging.selectors import may_read, membership
from parta.structure.models import Organization

END_OF_TIME = datetime(9999, 12, 31, tzinfo=UTC)


def _first_shared(own: Q | Exists, other: Q | Combinable) -> Subquery:
    """For a Call queryset: the first moment a stay matching `own` shared time with a stay
    matching `other` (each read against the stay it is compared with), NULL when never.

    Two non-empty stays [j1, l1) and [j2, l2) (no l = still there) share time exactly when
    j1 < l2 and j2 < l1, from max(j1, j2) on; so a stay is first shared at max(j1, the
    earliest j2 among the other stays it shares time with). An empty stay (left = joined)
    shares nothing.
    """
    non_empty = Q(left_at__isnull=True) | Q(left_at__gt=F("joined_at"))
    never = Value(END_OF_TIME, output_field=DateTimeField())
    first_other = (
        CallParticipation.objects.filter(non_empty, other, call_id=OuterRef("call_id"))
        .filter(joined_at__lt=Coalesce(OuterRef("left_at"), never))
        .filter(Q(left_at__isnull=True) | Q(left_at__gt=OuterRef("joined_at")))
        .order_by("joined_at")
        .values("joined_at")[:1]
    )
    shared = (
        CallParticipation.objects.filter(non_empty, own, call_id=OuterRef("pk"))
        .annotate(first_other=Subquery(first_other))
        # PostgreSQL's GREATEST skips NULLs: stays shared with nobody are left out first.
        .filter(first_other__isnull=False)
        .annotate(shared_from=Greatest("joined_at", "first_other"))
        .order_by("shared_from")
        .values("shared_from")[:1]
    )
    return Subquery(shared, output_field=DateTimeField())


def first_held_moment() -> Subquery:
    """For a Call queryset: the first moment two different people were in the call at once
    (the held-call rule of docs/indicators.md), NULL when there was none."""
    return _first_shared(Q(), ~Q(person_id=OuterRef("person_id")))


def _presenting(call_ref: str, person_ref: str) -> Exists:
    """For EXISTS: the outer row's person is a presenter of the outer row's broadcast."""
    return Exists(
        Call.presenters.through.objects.filter(
            call_id=OuterRef(call_ref), person_id=OuterRef(person_ref)
        )
    )


def first_watched_moment() -> Subquery:
    """For a Call queryset of broadcasts: the first moment a presenter and a viewer (someone
    not among its presenters) were in it at once, NULL when there was none — the «held
    broadcast» rule of docs/indicators.md. Two co-presenters alone did not hold it."""
    return _first_shared(_presenting("call_id", "person_id"), ~_presenting("call_id", "person_id"))


def held_moment() -> Case:
    """For a Call queryset: the held moment by the rule of each row's kind."""
    return Case(
        When(kind=Call.Kind.BROADCAST, then=first_watched_moment()),
        default=first_held_moment(),
        output_field=DateTimeField(),
    )


def held_calls() -> QuerySet[Call]:
    """Calls that were held, by the stored moment that calls.services.refresh_held keeps.
    Broadcasts are not calls for any indicator (docs/indicators.md): `held_broadcasts`."""
    return Call.objects.filter(kind=Call.Kind.CALL, held_at__isnull=False)


def held_broadcasts() -> QuerySet[Call]:
    """Broadcasts that were held: a presenter and a viewer in it at once (held_at, kept by
    refresh_held with `first_watched_moment`)."""
    return Call.objects.filter(kind=Call.Kind.BROADCAST, held_at__isnull=False)


def calls_with_stale_held() -> QuerySet[Call]:
    """Calls whose stored held moment is not what their stays give now: empty when every
    write of stays kept it (`parta check-counts` and the tests prove it)."""
    # Spelt out for NULLs: "held_at <> recounted" is NULL, not true, when one side is empty.
    return Call.objects.annotate(recounted=held_moment()).filter(
        Q(held_at__isnull=True, recounted__isnull=False)
        | Q(held_at__isnull=False, recounted__isnull=True)
        | (Q(held_at__isnull=False, recounted__isnull=False) & ~Q(held_at=F("recounted")))
    )


def may_manage(person: Person, call: Call, when: datetime) -> bool:
    """The creator (while still of the school) and its admins mute, remove and end the call."""
    roles = roles_at(person, call.organization, when)
    return Role.ADMIN in roles or (call.created_by_id == person.pk and bool(roles))


def may_open_to_outsiders(person: Person, organization: Organization, when: datetime) -> bool:
    """Invite links and anonymous guests are for the school's staff to open: a call that a
    student or a parent starts stays among the members of its conversation."""
    return bool(roles_at(person, organization, when) & STAFF_ROLES)


def is_removed(call: Call, person: Person) -> bool:
    return CallParticipation.objects.filter(
        call=call, person=person, removed_by__isnull=False
    ).exists()


def has_valid_link(call: Call, presented_hash: str | None) -> bool:
    """The link this browser opened is still the call's link (a new link revokes the old)."""
    return bool(call.link_hash) and presented_hash == call.link_hash


def may_join(person: Person | None, call: Call, when: datetime, *, link_hash: str | None) -> bool:
    """Members of the call's conversation, its creator and admins, and holders of its link;
    people who are not signed in only by link and only when the call lets guests in."""
    if call.ended_at is not None:
        return False
    if person is None:
        return call.allow_anonymous and has_valid_link(call, link_hash)
    if is_removed(call, person):
        return False
    if may_manage(person, call, when):
        return True
    # A member who has left the school is no longer let in through the chat.
    if call.conversation is not None and may_read(person, call.conversation, when):
        return True
    return has_valid_link(call, link_hash)


def may_see_history(person: Person, call: Call, when: datetime) -> bool:
    """Who was in it, the creator and admins, and the conversation's members."""
    return (
        may_manage(person, call, when)
        or CallParticipation.objects.filter(call=call, person=person).exists()
        or (call.conversation is not None and membership(person, call.conversation) is not None)
    )


def guest_refused(call: Call, key: str) -> bool:
    return CallGuest.objects.filter(call=call, key=key, removed=True).exists()


def open_stays(call: Call) -> QuerySet[CallParticipation]:
    return CallParticipation.objects.filter(call=call, left_at__isnull=True)


def present_count(call: Call) -> int:
    """People and guests in the call now (each person once, whatever their tabs)."""
    guests = CallGuest.objects.filter(call=call, left_at__isnull=True).count()
    return open_stays(call).count() + guests


def active_call(conversation: Conversation) -> Call | None:
    """The conversation's call that has not ended, the latest if several."""
    return (
        Call.objects.filter(conversation=conversation, ended_at__isnull=True)
        .order_by("-created_at", "-id")
        .first()
    )


def call_data(call: Call) -> dict[str, Any]:
    """The call as events and the API show it."""
    return {
        "id": call.pk,
        "kind": call.kind,
        "title": call.title,
        "organization_id": call.organization_id,
        "conversation_id": call.conversation_id,
        "created_by": {"id": call.created_by_id, "name": call.created_by.full_name},
        "created_at": call.created_at,
        "ended_at": call.ended_at,
        "allow_anonymous": call.allow_anonymous,
        "audio_only": call.audio_only,
        "has_link": bool(call.link_hash),
        "url": reverse("calls:call", args=[call.pk]),
    }


@dataclass
class Attendee:
    name: str
    person_id: int | None  # None for a guest
    seconds: int = 0
    present: bool = False


@dataclass
class CallSummary:
    call: Call
    started_at: datetime
    finished_at: datetime | None  # None while someone is still in it
    attendees: list[Attendee] = field(default_factory=list)

    @property
    def duration(self) -> timedelta | None:
        return None if self.finished_at is None else self.finished_at - self.started_at


def _summaries(calls: QuerySet[Call], now: datetime, limit: int) -> list[CallSummary]:
    """Each call with who was in it and for how long (all of their stays added up)."""
    calls = calls.select_related(
        "created_by", "conversation", "organization__district__region"
    ).prefetch_related("participations__person", "guests")
    result = []
    for call in calls[:limit]:
        by_key: dict[str, Attendee] = {}
        ends: list[datetime | None] = []
        stays: list[tuple[str, str, int | None, datetime, datetime | None]] = [
            (f"p{s.person_id}", s.person.full_name, s.person_id, s.joined_at, s.left_at)
            for s in call.participations.all()
        ] + [(f"g{g.pk}", g.display_name, None, g.joined_at, g.left_at) for g in call.guests.all()]
        for key, name, person_id, joined, left in stays:
            attendee = by_key.setdefault(key, Attendee(name=name, person_id=person_id))
            attendee.seconds += int(((left or now) - joined).total_seconds())
            attendee.present = attendee.present or left is None
            ends.append(left)
        finished = call.ended_at
        if finished is None and ends and None not in ends:
            finished = max(end for end in ends if end is not None)
        attendees = sorted(by_key.values(), key=lambda a: (-a.seconds, a.name))
        result.append(CallSummary(call, call.created_at, finished, attendees))
    return result


def call_summary(call: Call, now: datetime) -> CallSummary:
    return _summaries(Call.objects.filter(pk=call.pk), now, 1)[0]


def conversation_history(
    conversation: Conversation, now: datetime, limit: int = 10
) -> list[CallSummary]:
    calls = Call.objects.filter(conversation=conversation).order_by("-created_at", "-id")
    return _summaries(calls, now, limit)


def person_history(person: Person, now: datetime, limit: int = 50) -> list[CallSummary]:
    """Calls the person created or was in, latest first."""
    calls = (
        Call.objects.filter(Q(created_by=person) | Q(participations__person=person))
        .distinct()
        .order_by("-created_at", "-id")
    )
    return _summaries(calls, now, limit)

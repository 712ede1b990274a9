"""Writes about calls and who was in them. Each function is one transaction."""

from datetime import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from parta.accounts.models import Person
from parta.accounts.selectors import roles_at
from parta.calls.models import Call, CallParticipation
from parta.messaging.models import Conversation
from parta.messaging.services import is_member
from parta.structure.models import Organization


@transaction.atomic
def start_call(
    creator: Person,
    organization: Organization,
    *,
    conversation: Conversation | None = None,
    at: datetime | None = None,
) -> Call:
    """Create a call and put its creator in it."""
    moment = at or timezone.now()
    if conversation is not None:
        if conversation.organization_id != organization.pk:
            raise ValidationError(_("Беседа принадлежит другой организации."))
        if not is_member(creator, conversation):
            raise PermissionDenied(_("Начать звонок в беседе могут только её участники."))
    elif not roles_at(creator, organization, moment):
        raise PermissionDenied(_("Начать звонок могут только участники организации."))
    call = Call.objects.create(
        organization=organization, conversation=conversation, created_by=creator, created_at=moment
    )
    CallParticipation.objects.create(call=call, person=creator, joined_at=moment)
    return call


@transaction.atomic
def join_call(call: Call, person: Person, *, at: datetime | None = None) -> CallParticipation:
    moment = at or timezone.now()
    if call.ended_at is not None and call.ended_at <= moment:
        raise ValidationError(_("Звонок уже завершён."))
    current = CallParticipation.objects.filter(call=call, person=person, left_at__isnull=True)
    existing = current.first()
    if existing is not None:
        return existing
    return CallParticipation.objects.create(call=call, person=person, joined_at=moment)


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
    stay.save(update_fields=["left_at"])
    return stay


@transaction.atomic
def end_call(call: Call, *, at: datetime | None = None) -> Call:
    """End the call for everyone: every open stay closes at the same moment."""
    moment = at or timezone.now()
    if call.ended_at is None:
        for stay in CallParticipation.objects.select_for_update().filter(
            call=call, left_at__isnull=True
        ):
            stay.left_at = max(moment, stay.joined_at)
            stay.save(update_fields=["left_at"])
        call.ended_at = moment
        call.save(update_fields=["ended_at"])
    return call

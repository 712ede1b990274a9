"""Writes about people and their roles. Each function is one transaction."""

import logging
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from parta.accounts.models import AuditEntry, ClassEnrolment, ParentLink, Person, Role, RoleGrant
from parta.structure.models import Organization, SchoolClass

logger = logging.getLogger("parta.accounts")


class RoleError(ValidationError):
    """A role change that would break the history: overlap, empty interval, nothing to revoke."""


def record_audit(
    action: str,
    *,
    actor: Person | None = None,
    organization: Organization | None = None,
    subject: Person | None = None,
    **details: Any,
) -> AuditEntry:
    return AuditEntry.objects.create(
        action=action, actor=actor, organization=organization, subject=subject, details=details
    )


def _aware(value: datetime, field: str) -> datetime:
    if timezone.is_naive(value):
        raise RoleError(_("Время «%(field)s» указано без часового пояса.") % {"field": field})
    return value


@transaction.atomic
def grant_role(
    person: Person,
    organization: Organization,
    role: str,
    *,
    valid_from: datetime | None = None,
    valid_to: datetime | None = None,
    granted_by: Person | None = None,
    reason: str = "",
) -> RoleGrant:
    """Give `person` the `role` in `organization` over [valid_from, valid_to).

    Refuses an unknown role, an empty or inverted interval, and any overlap with a
    grant of the same role in the same organization (a duplicate says nothing new
    and would make "who held which role when" ambiguous).
    """
    if role not in Role.values:
        raise RoleError(_("Неизвестная роль: %(role)s.") % {"role": role})
    start = _aware(valid_from, "с") if valid_from else timezone.now()
    end = _aware(valid_to, "по") if valid_to else None
    if end is not None and end <= start:
        raise RoleError(_("Окончание роли должно быть позже её начала."))
    # Lock this person's grants so two concurrent grants cannot both pass the check.
    existing = RoleGrant.objects.select_for_update().filter(
        person=person, organization=organization, role=role
    )
    overlapping = existing.filter(Q(valid_to__isnull=True) | Q(valid_to__gt=start))
    if end is not None:
        overlapping = overlapping.filter(valid_from__lt=end)
    if overlapping.exists():
        raise RoleError(
            _("У %(person)s уже есть роль «%(role)s» в %(org)s на это время.")
            % {"person": person, "role": Role(role).label, "org": organization}
        )
    grant = RoleGrant.objects.create(
        person=person, organization=organization, role=role, valid_from=start, valid_to=end,
        granted_by=granted_by, reason=reason,
    )
    record_audit(
        "role.granted", actor=granted_by, organization=organization, subject=person,
        role=role, valid_from=start.isoformat(), valid_to=end.isoformat() if end else None,
        reason=reason,
    )
    return grant


@transaction.atomic
def revoke_role(
    person: Person,
    organization: Organization,
    role: str,
    *,
    at: datetime | None = None,
    revoked_by: Person | None = None,
    reason: str = "",
) -> RoleGrant:
    """Close the grant of `role` held at `at` (default: now). History is kept."""
    when = _aware(at, "когда") if at else timezone.now()
    grant = (
        RoleGrant.objects.select_for_update()
        .filter(person=person, organization=organization, role=role, valid_from__lte=when)
        .filter(Q(valid_to__isnull=True) | Q(valid_to__gt=when))
        .first()
    )
    if grant is None:
        raise RoleError(
            _("У %(person)s нет роли «%(role)s» в %(org)s, отзывать нечего.")
            % {"person": person, "role": Role(role).label, "org": organization}
        )
    if when <= grant.valid_from:
        raise RoleError(_("Роль нельзя отозвать раньше, чем она начала действовать."))
    if grant.valid_to is not None:
        # A planned end already exists; moving it earlier would rewrite history.
        raise RoleError(_("У этой роли уже задано окончание; история не переписывается."))
    grant.valid_to = when
    grant.revoked_by = revoked_by
    if reason:
        grant.reason = f"{grant.reason}; {reason}" if grant.reason else reason
    grant.save(update_fields=["valid_to", "revoked_by", "reason"])
    record_audit(
        "role.revoked", actor=revoked_by, organization=organization, subject=person,
        role=role, at=when.isoformat(), reason=reason,
    )
    return grant


@transaction.atomic
def remove_from_organization(
    person: Person, organization: Organization, *, removed_by: Person | None = None
) -> list[RoleGrant]:
    """Close every role the person holds in the organization now."""
    now = timezone.now()
    closed = [
        revoke_role(person, organization, grant.role, at=now, revoked_by=removed_by)
        for grant in RoleGrant.objects.filter(
            person=person, organization=organization, valid_from__lte=now, valid_to__isnull=True
        )
    ]
    return closed


def create_person(
    *, surname: str, name: str = "", patronymic: str = "", phone: str | None = None,
    email: str = "", external_id: str | None = None,
) -> Person:
    return Person.objects.create_user(
        phone, surname=surname, name=name, patronymic=patronymic, email=email,
        external_id=external_id,
    )


@transaction.atomic
def enrol_student(
    student: Person, school_class: SchoolClass, *, at: datetime | None = None
) -> ClassEnrolment:
    """Put a student in a class; a current enrolment elsewhere is closed (a move)."""
    when = at or timezone.now()
    current = ClassEnrolment.objects.select_for_update().filter(
        student=student, valid_to__isnull=True
    ).first()
    if current is not None:
        if current.school_class_id == school_class.pk:
            return current
        if when <= current.valid_from:
            raise ValidationError(_("Перевод не может быть раньше зачисления."))
        current.valid_to = when
        current.save(update_fields=["valid_to"])
    return ClassEnrolment.objects.create(student=student, school_class=school_class, valid_from=when)


def link_parent(parent: Person, child: Person) -> ParentLink:
    if parent.pk == child.pk:
        raise ValidationError(_("Человек не может быть родителем самому себе."))
    link, _created = ParentLink.objects.get_or_create(parent=parent, child=child)
    return link

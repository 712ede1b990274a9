"""Writes for a school's list of people: keep an upload, apply its plan. One transaction each."""

import hashlib
import logging
from datetime import datetime

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from parta.accounts.models import Person, Role
from parta.accounts.selectors import require_admin
from parta.accounts.services import (
    enrol_student,
    grant_role,
    link_parent,
    record_audit,
    revoke_role,
)
from parta.invites.invitations import InvitationEntry, issue_personal_invitations
from parta.invites.models import PersonalInvitation
from parta.invites.signals import admitted
from parta.roster.models import RosterImport
from parta.roster.plan import Entry, RosterPlan, plan_roster
from parta.roster.reader import RosterFileError, read_roster
from parta.structure.models import Organization, SchoolClass
from parta.structure.selectors import current_academic_year

logger = logging.getLogger("parta.roster")


@transaction.atomic
def upload_roster(
    organization: Organization,
    file_name: str,
    content: bytes,
    *,
    by: Person,
    create_classes: bool = False,
) -> RosterImport:
    """Keep an uploaded file for its preview; refuses one that cannot be read at all."""
    require_admin(by, organization)
    if len(content) > settings.PARTA_ROSTER_MAX_BYTES:
        raise ValidationError(
            _("Файл больше %(mb)d МБ. Разделите список на несколько файлов.")
            % {"mb": settings.PARTA_ROSTER_MAX_BYTES // 2**20},
            code="too_large",
        )
    try:
        read_roster(content)
    except RosterFileError as exc:
        raise ValidationError(str(exc), code="unreadable") from exc
    return RosterImport.objects.create(
        organization=organization,
        file_name=file_name[:255] or "roster",
        sha256=hashlib.sha256(content).hexdigest(),
        content=content,
        create_classes=create_classes,
        uploaded_by=by,
        uploaded_at=timezone.now(),
    )


def preview(roster_import: RosterImport, *, now: datetime | None = None) -> RosterPlan:
    """What confirming would do now: planned from the kept file and today's records."""
    return plan_roster(
        roster_import.organization,
        read_roster(bytes(roster_import.content)),
        create_classes=roster_import.create_classes,
        now=now or timezone.now(),
    )


def _created_people(plan: RosterPlan) -> None:
    people = [
        Person(
            surname=entry.surname,
            name=entry.name,
            patronymic=entry.patronymic,
            phone=entry.phone,
            # Unusable, as set_unusable_password makes it: roster people sign in by SMS.
            password=make_password(None),
        )
        for entry in plan.new_people
    ]
    # bulk_create reads the ids back (RETURNING on both databases): the plan needs them.
    Person.objects.bulk_create(people, batch_size=500)
    for entry, person in zip(plan.new_people, people, strict=True):
        entry.existing = person


def _created_classes(plan: RosterPlan, by: Person, year: int) -> dict[str, SchoolClass]:
    classes = dict(plan.classes)
    for key, name in plan.new_classes.items():
        classes[key] = SchoolClass.objects.create(
            organization=plan.organization, name=name, academic_year=year
        )
    if plan.new_classes:
        record_audit(
            "class.created_in_bulk",
            actor=by,
            organization=plan.organization,
            classes=sorted(plan.new_classes.values()),
            academic_year=year,
        )
    return classes


def _person(entry: Entry) -> Person:
    if entry.existing is None:
        raise ValueError(f"roster entry {entry.key} has no person")  # the plan guarantees one
    return entry.existing


def _apply_members(
    plan: RosterPlan, classes: dict[str, SchoolClass], by: Person, now: datetime, reason: str
) -> None:
    """Members of the school change at once; each change runs the product's own rule."""
    organization = plan.organization
    welcomed: set[tuple[int, str]] = set()
    for entry, role in plan.closes:
        revoke_role(_person(entry), organization, role, at=now, revoked_by=by, reason=reason)
    for entry, role in plan.grants:
        grant_role(_person(entry), organization, role, valid_from=now, granted_by=by, reason=reason)
        welcomed.add((_person(entry).pk, role))
    for entry, _old, key in plan.moves:
        # A move sends accounts.signals.class_moved: the chats follow the student.
        enrol_student(_person(entry), classes[key], at=now)
    for parent, child in plan.links:
        link_parent(_person(parent), _person(child))
        welcomed.add((_person(parent).pk, Role.PARENT))
    people = {entry.existing.pk: entry.existing for entry in plan.entries if entry.existing}
    for person_id, role in sorted(welcomed):
        admitted.send(
            sender=RosterImport, person=people[person_id], organization=organization, role=role
        )


def _invitation_entries(plan: RosterPlan, classes: dict[str, SchoolClass]) -> list[InvitationEntry]:
    return [
        InvitationEntry(
            person=_person(invite.entry),
            role=invite.role,
            school_class=classes[invite.class_key] if invite.class_key else None,
            child=_person(invite.child) if invite.child else None,
        )
        for invite in plan.invites
    ]


@transaction.atomic
def confirm_roster(roster_import: RosterImport, *, by: Person, digest: str) -> RosterImport:
    """Apply the plan the admin saw (`digest`), all of it or nothing.

    Refused while the file has bad rows, and when the school's records changed since the
    preview so that the plan is another one (the admin looks again). A file whose plan is
    empty — the same file again — is recorded as confirmed and changes nothing.
    """
    organization = roster_import.organization
    require_admin(by, organization)
    locked = RosterImport.objects.select_for_update().get(pk=roster_import.pk)
    if locked.status != RosterImport.Status.PREVIEWED:
        raise ValidationError(_("Этот файл уже загружен."), code="confirmed")
    now = timezone.now()
    plan = preview(locked, now=now)
    if plan.bad_rows:
        raise ValidationError(
            _("В файле есть строки с ошибками: исправьте их и загрузите файл снова."),
            code="bad_rows",
        )
    if plan.digest() != digest:
        raise ValidationError(
            _("Данные школы изменились после просмотра. Проверьте список ещё раз."),
            code="changed",
        )
    summary = plan.summary()
    reason = _("Список школы, загрузка №%(id)d") % {"id": locked.pk}
    classes = _created_classes(plan, by, current_academic_year(organization, now))
    _created_people(plan)
    for entry in plan.phones:
        Person.objects.filter(pk=_person(entry).pk).update(phone=entry.phone)
    _apply_members(plan, classes, by, now, reason)
    PersonalInvitation.objects.filter(pk__in=[i.pk for i in plan.reissues]).update(revoked_at=now)
    issue_personal_invitations(organization, _invitation_entries(plan, classes), by=by)
    locked.status = RosterImport.Status.CONFIRMED
    locked.confirmed_at = now
    locked.summary = summary
    locked.save(update_fields=["status", "confirmed_at", "summary"])
    record_audit(
        "roster.imported",
        actor=by,
        organization=organization,
        roster_import=locked.pk,
        summary=summary,
    )
    logger.info("Roster import %s confirmed: %s", locked.pk, summary)
    return locked

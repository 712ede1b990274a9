"""Writes about people and their roles. Each function is one transaction."""

import logging
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from parta.accounts.models import AuditEntry, ClassEnrolment, ParentLink, Person, Role, RoleGrant
from parta.accounts.selectors import class_at, grants_held_at, holds_role, require_admin, roles_at
from parta.accounts.signals import class_moved, left_organization, person_merged
from parta.bulk import insert_models
from parta.structure.models import Organization, SchoolClass

logger = logging.getLogger("parta.accounts")


class RoleError(ValidationError):
    """A role change that would break the history: overlap, empty interval, nothing to revoke.

    Each carries a `code` (unknown_role, naive_datetime, empty_interval, overlap,
    nothing_to_revoke, not_started, already_ended, admin_not_adult) for callers that react
    by kind.
    """


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


def _aware(value: datetime, message: str, error: type[ValidationError] = RoleError) -> datetime:
    """A naive time would be read in the server's zone, hours away from the school's: refuse."""
    if timezone.is_naive(value):
        raise error(
            _("%(message)s Укажите время с часовым поясом, например 2026-11-16T09:00:00+07:00.")
            % {"message": message},
            code="naive_datetime",
        )
    return value


def _moment(value: datetime, organization: Organization) -> str:
    """A moment as the school reads it: its region's local time."""
    return timezone.localtime(value, organization.district.region.zone).strftime(
        "%d.%m.%Y %H:%M:%S"
    )


def _interval(grant: RoleGrant) -> str:
    start = _moment(grant.valid_from, grant.organization)
    if grant.valid_to is None:
        return _("с %(start)s, без срока окончания") % {"start": start}
    return _("с %(start)s по %(end)s") % {
        "start": start,
        "end": _moment(grant.valid_to, grant.organization),
    }


def _check_role(role: str) -> None:
    if role not in Role.values:
        raise RoleError(
            _("Неизвестная роль «%(role)s». Допустимые роли: %(roles)s.")
            % {"role": role, "roles": ", ".join(f"{c.label} ({c.value})" for c in Role)},
            code="unknown_role",
        )


def _lock_person(person: Person) -> None:
    """Serialize role changes of one person.

    Locking the person's grants is not enough: when there are none yet,
    SELECT ... FOR UPDATE locks nothing and two concurrent grants both pass the
    overlap check. The person row always exists, so locking it makes the second
    transaction wait until the first commits and then see its grant. (SQLite
    takes the write lock at BEGIN IMMEDIATE, which serializes writers anyway.)
    """
    list(Person.objects.select_for_update().filter(pk=person.pk).order_by().values_list("pk"))


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
    and would make "who held which role when" ambiguous). Adjacent grants
    [a, b) and [b, c) do not overlap and are allowed.
    """
    _check_role(role)
    start = (
        _aware(valid_from, _("Начало роли указано без часового пояса."))
        if valid_from is not None
        else timezone.now()
    )
    end = (
        _aware(valid_to, _("Окончание роли указано без часового пояса."))
        if valid_to is not None
        else None
    )
    if end is not None and end <= start:
        raise RoleError(
            _("Окончание роли (%(end)s) должно быть позже её начала (%(start)s).")
            % {"end": _moment(end, organization), "start": _moment(start, organization)},
            code="empty_interval",
        )
    _lock_person(person)
    overlapping = RoleGrant.objects.filter(
        person=person, organization=organization, role=role
    ).filter(Q(valid_to__isnull=True) | Q(valid_to__gt=start))
    if end is not None:
        overlapping = overlapping.filter(valid_from__lt=end)
    clash = overlapping.select_related("organization__district__region").first()
    if clash is not None:
        raise RoleError(
            _(
                "%(person)s уже имеет роль «%(role)s» в организации «%(org)s» на это время "
                "(%(interval)s). Одна и та же роль не выдаётся дважды на одно время."
            )
            % {
                "person": person,
                "role": Role(role).label,
                "org": organization,
                "interval": _interval(clash),
            },
            code="overlap",
        )
    _check_admin_is_adult(person, organization, role, start)
    grant = RoleGrant.objects.create(
        person=person,
        organization=organization,
        role=role,
        valid_from=start,
        valid_to=end,
        granted_by=granted_by,
        reason=reason,
    )
    record_audit(
        "role.granted",
        actor=granted_by,
        organization=organization,
        subject=person,
        role=role,
        valid_from=start.isoformat(),
        valid_to=end.isoformat() if end else None,
        reason=reason,
    )
    return grant


# Roles of grown-ups: one of them lets a person who is also a student (a teacher taking
# evening classes) be an admin.
ADULT_ROLES = frozenset({Role.TEACHER, Role.STAFF, Role.PARENT})


def _check_admin_is_adult(
    person: Person, organization: Organization, role: str, start: datetime
) -> None:
    """A school's admin sees every child's name, phone and chat: never one of its students."""
    held = roles_at(person, organization, start) | {role}
    if Role.ADMIN in held and Role.STUDENT in held and not held & ADULT_ROLES:
        raise RoleError(
            _(
                "%(person)s — ученик организации «%(org)s»: администратором школы может быть "
                "только взрослый (учитель или сотрудник)."
            )
            % {"person": person, "org": organization},
            code="admin_not_adult",
        )


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
    """Close the grant of `role` held at `at` (default: now) by setting its end. History is kept.

    The row stays; only `valid_to` is written. An end already recorded moves only
    while it is a plan: it may be brought forward to a moment not yet past, never
    rewritten into the past (that would change what was true, e.g. a closed week).
    """
    _check_role(role)
    now = timezone.now()
    when = _aware(at, _("Время отзыва роли указано без часового пояса.")) if at is not None else now
    _lock_person(person)
    return _close_grant(person, organization, role, when, now, revoked_by, reason)


def _close_grant(
    person: Person,
    organization: Organization,
    role: str,
    when: datetime,
    now: datetime,
    revoked_by: Person | None,
    reason: str,
) -> RoleGrant:
    """revoke_role's work; the caller fixes `now` so one removal closes all at one moment."""
    grants = RoleGrant.objects.filter(
        person=person, organization=organization, role=role
    ).select_related("organization__district__region")
    grant = grants.filter(grants_held_at(when)).first()
    names = {
        "person": person,
        "role": Role(role).label,
        "org": organization,
        "when": _moment(when, organization),
    }
    if grant is None:
        upcoming = grants.filter(valid_from__gt=when).order_by("valid_from").first()
        if upcoming is not None:
            raise RoleError(
                _(
                    "%(person)s: роль «%(role)s» в организации «%(org)s» начинается только "
                    "%(start)s; отозвать её на %(when)s, раньше начала, нельзя."
                )
                % {**names, "start": _moment(upcoming.valid_from, organization)},
                code="not_started",
            )
        raise RoleError(
            _(
                "%(person)s не имеет роли «%(role)s» в организации «%(org)s» на %(when)s — "
                "отзывать нечего."
            )
            % names,
            code="nothing_to_revoke",
        )
    if when == grant.valid_from:
        raise RoleError(
            _(
                "Роль «%(role)s» начала действовать ровно %(when)s; отзыв в тот же момент "
                "оставил бы пустой срок. Укажите более позднее время."
            )
            % names,
            code="empty_interval",
        )
    if grant.valid_to is not None and when < now:
        raise RoleError(
            _(
                "%(person)s: роль «%(role)s» в организации «%(org)s» уже закрыта "
                "(%(interval)s); задним числом её окончание не переносится — история "
                "не переписывается."
            )
            % {**names, "interval": _interval(grant)},
            code="already_ended",
        )
    grant.valid_to = when
    grant.revoked_by = revoked_by
    if reason:
        grant.reason = f"{grant.reason}; {reason}" if grant.reason else reason
    grant.save(update_fields=["valid_to", "revoked_by", "reason"])
    record_audit(
        "role.revoked",
        actor=revoked_by,
        organization=organization,
        subject=person,
        role=role,
        at=when.isoformat(),
        reason=reason,
    )
    if when <= now and not roles_at(person, organization, now):
        left_organization.send(sender=RoleGrant, person=person, organization=organization)
    return grant


@transaction.atomic
def remove_from_organization(
    person: Person, organization: Organization, *, removed_by: Person | None = None
) -> list[RoleGrant]:
    """Close every role the person holds in the organization now.

    Grants that start later are left as they are: closing them would need an
    empty interval, and history is never deleted.
    """
    now = timezone.now()
    _lock_person(person)
    roles = list(
        RoleGrant.objects.filter(grants_held_at(now), person=person, organization=organization)
        .order_by("role")
        .values_list("role", flat=True)
    )
    return [
        _close_grant(person, organization, role, now, now, removed_by, reason="") for role in roles
    ]


def create_person(
    *,
    surname: str,
    name: str = "",
    patronymic: str = "",
    phone: str | None = None,
    email: str = "",
    external_id: str | None = None,
) -> Person:
    return Person.objects.create_user(
        phone,
        surname=surname,
        name=name,
        patronymic=patronymic,
        email=email,
        external_id=external_id,
    )


@transaction.atomic
def enrol_student(
    student: Person, school_class: SchoolClass, *, at: datetime | None = None
) -> ClassEnrolment:
    """Put a student in a class from `at` (default: now); a current enrolment elsewhere is
    closed at that moment (a move). Enrolling again in the current class changes nothing.
    """
    organization = school_class.organization
    when = (
        _aware(at, _("Время зачисления указано без часового пояса."), ValidationError)
        if at is not None
        else timezone.now()
    )
    _lock_person(student)
    enrolments = ClassEnrolment.objects.filter(student=student).select_related("school_class")
    current = enrolments.filter(valid_to__isnull=True).first()
    if current is not None and current.school_class_id == school_class.pk:
        return current
    if current is not None and when <= current.valid_from:
        raise ValidationError(
            _(
                "%(student)s: перевод в класс %(new)s на %(when)s невозможен — в классе "
                "%(old)s ученик числится только с %(since)s. Перевод должен быть позже "
                "зачисления."
            )
            % {
                "student": student,
                "new": school_class,
                "old": current.school_class,
                "when": _moment(when, organization),
                "since": _moment(current.valid_from, organization),
            },
            code="move_before_enrolment",
        )
    later = enrolments.filter(valid_to__gt=when).order_by("-valid_to").first()
    if later is not None and later.valid_to is not None:
        raise ValidationError(
            _(
                "%(student)s на %(when)s уже числится в классе %(old)s (до %(until)s); "
                "зачисление задним числом переписало бы историю."
            )
            % {
                "student": student,
                "when": _moment(when, organization),
                "old": later.school_class,
                "until": _moment(later.valid_to, organization),
            },
            code="enrolment_overlap",
        )
    if current is not None:
        current.valid_to = when
        current.save(update_fields=["valid_to"])
    enrolment = ClassEnrolment.objects.create(
        student=student, school_class=school_class, valid_from=when
    )
    if current is not None:
        class_moved.send(
            sender=ClassEnrolment,
            student=student,
            old_class=current.school_class,
            new_class=school_class,
            at=when,
        )
    return enrolment


@transaction.atomic
def move_student(student: Person, school_class: SchoolClass, *, actor: Person) -> ClassEnrolment:
    """Put a current student of the school into `school_class` from now on (a move), by an
    admin of the school."""
    organization = school_class.organization
    now = timezone.now()
    require_admin(actor, organization, now)
    if not holds_role(student, organization, Role.STUDENT, now):
        raise ValidationError(
            _("%(person)s сейчас не ученик организации «%(org)s».")
            % {"person": student, "org": organization}
        )
    if school_class.is_staff_class:
        raise ValidationError(_("В класс учителей учеников не зачисляют."))
    previous = class_at(student, now)
    enrolment = enrol_student(student, school_class, at=now)
    if previous != school_class:
        record_audit(
            "student.moved",
            actor=actor,
            organization=organization,
            subject=student,
            from_class=previous.name if previous else None,
            to_class=school_class.name,
        )
    return enrolment


@transaction.atomic
def link_parent(parent: Person, child: Person) -> ParentLink:
    """Link a parent to a child; linking again returns the existing link."""
    if parent.pk == child.pk:
        raise ValidationError(
            _("%(person)s не может быть родителем самому себе.") % {"person": parent},
            code="self_parent",
        )
    link, _created = ParentLink.objects.get_or_create(parent=parent, child=child)
    return link


def _lock_people(*people: Person) -> None:
    """Lock several people in one order (by id), so two merges never wait for each other."""
    pks = sorted(person.pk for person in people)
    list(Person.objects.select_for_update().filter(pk__in=pks).order_by("pk").values_list("pk"))


def check_mergeable(record: Person, into: Person) -> None:
    """Refuse (ValidationError) what merge_roster_record would refuse."""
    if record.pk == into.pk:
        raise ValidationError(_("Запись нельзя объединить с ней самой."), code="same_person")
    if record.last_login is not None or not record.is_active:
        # Someone has signed in as the record: it is their account, not a roster's line.
        raise ValidationError(
            _(
                "Запись %(person)s уже используется другой учётной записью: объединить их "
                "нельзя. Обратитесь к классному руководителю."
            )
            % {"person": record},
            code="record_signed_in",
        )
    if ParentLink.objects.filter(
        Q(parent=record, child=into) | Q(parent=into, child=record)
    ).exists():
        # A child's slip used on her parent's phone (or the other way round).
        raise ValidationError(
            _(
                "%(record)s и %(account)s — родитель и ребёнок: это два разных человека. "
                "Каждый входит в Парту под своим номером телефона."
            )
            % {"record": record, "account": into},
            code="self_parent",
        )


def _merge_grants(record: Person, into: Person, when: datetime) -> tuple[list[int], list[int]]:
    """Move the record's grants to `into`, or close at `when` those that would overlap one of
    its own. A past or planned grant that would overlap stays with the record as it is:
    closing it at `when` would rewrite the past or leave an empty interval."""
    held = list(RoleGrant.objects.filter(person=into))
    moved: list[int] = []
    closed: list[int] = []
    for grant in RoleGrant.objects.filter(person=record).order_by("pk"):
        clash = any(
            other.organization_id == grant.organization_id
            and other.role == grant.role
            and _overlap(grant.valid_from, grant.valid_to, other.valid_from, other.valid_to)
            for other in held
        )
        if not clash:
            grant.person = into
            grant.save(update_fields=["person"])
            moved.append(grant.pk)
        elif grant.valid_from < when and (grant.valid_to is None or grant.valid_to > when):
            grant.valid_to = when
            note = _("объединена с учётной записью №%(id)d") % {"id": into.pk}
            grant.reason = f"{grant.reason}; {note}" if grant.reason else note
            grant.save(update_fields=["valid_to", "reason"])
            closed.append(grant.pk)
    return moved, closed


def _merge_parent_links(record: Person, into: Person) -> int:
    """The record's children and parents become the account's; the record's own links go
    (they carry no history, and a parents' chat made later would bring the record in)."""
    links = list(ParentLink.objects.filter(Q(parent=record) | Q(child=record)))
    for link in links:
        parent_id = into.pk if link.parent_id == record.pk else link.parent_id
        child_id = into.pk if link.child_id == record.pk else link.child_id
        ParentLink.objects.get_or_create(parent_id=parent_id, child_id=child_id)
        link.delete()
    return len(links)


def _merge_enrolment(record: Person, into: Person, when: datetime) -> int | None:
    """The record's current class becomes the account's when it has none; otherwise the
    record leaves it at `when`. Returns the moved enrolment's id."""
    current = ClassEnrolment.objects.filter(student=record, valid_to__isnull=True).first()
    if current is None:
        return None
    if not ClassEnrolment.objects.filter(student=into, valid_to__isnull=True).exists():
        current.student = into
        current.save(update_fields=["student"])
        return current.pk
    if current.valid_from < when:
        current.valid_to = when
        current.save(update_fields=["valid_to"])
    return None


@transaction.atomic
def merge_roster_record(record: Person, into: Person, *, at: datetime) -> Person:
    """Fold a roster record that never signed in into the existing account of the same
    person (a teacher of the school who is also a parent there; a parent known in another
    school): its role grants, parent links and current class go to `into` (the class only
    when `into` has none), then the record is deactivated, its phone freed, and
    signals.person_merged lets the apps above move the rest (chats, invitations).

    Where `into` already holds an overlapping grant of the same role in the same
    organization, the record's grant is closed at `at` instead (history is never deleted).
    Refused (ValidationError): a record that has signed in or is inactive, the same
    person, and a parent and her child (merging would make one the other).
    """
    when = _aware(at, _("Время объединения указано без часового пояса."), ValidationError)
    _lock_people(record, into)
    record.refresh_from_db(fields=["last_login", "is_active", "phone"])
    check_mergeable(record, into)
    moved, closed = _merge_grants(record, into, when)
    links = _merge_parent_links(record, into)
    enrolment = _merge_enrolment(record, into, when)
    had_phone = bool(record.phone)
    record.is_active = False
    # A roster's phone for the record would keep its owner from ever signing in with it.
    record.phone = None
    record.save(update_fields=["is_active", "phone"])
    record_audit(
        "person.merged",
        actor=into,
        subject=into,
        record=record.pk,
        grants_moved=moved,
        grants_closed=closed,
        parent_links=links,
        enrolment_moved=enrolment,
        record_had_phone=had_phone,
    )
    person_merged.send(sender=Person, record=record, into=into, at=when)
    logger.info("Roster record %s merged into person %s", record.pk, into.pk)
    return into


class RoleGrantConflict(RoleError):
    """A grant of a bulk import that would break the history; `index` is its place in the batch."""

    def __init__(self, message: str, *, code: str, index: int) -> None:
        super().__init__(message, code=code)
        self.index = index


def _overlap(
    start: datetime, end: datetime | None, other_start: datetime, other_end: datetime | None
) -> bool:
    return (end is None or other_start < end) and (other_end is None or start < other_end)


def _open_end(end: datetime | None) -> str:
    return end.isoformat() if end is not None else _("без срока окончания")


@transaction.atomic
def import_role_grants(grants: Sequence[RoleGrant]) -> list[RoleGrant]:
    """Store unsaved grants in bulk under grant_role's rules, for history imports.

    A grant equal to one already stored or earlier in `grants` (same person,
    organization, role, start and end) is skipped, so importing twice changes
    nothing. Refused like in grant_role: an unknown role, a naive time, an empty
    interval, and any other overlap with a grant of the same role in the same
    organization. A refusal is a RoleGrantConflict naming the grant's index.
    No audit entry per grant: the importer records one for the whole import.
    Returns the grants stored (written with parta.bulk: their ids are not read back).
    Returns the grants stored.
    """
    for index, grant in enumerate(grants):
        try:
            _check_role(grant.role)
            _aware(grant.valid_from, _("Начало роли указано без часового пояса."))
            if grant.valid_to is not None:
                _aware(grant.valid_to, _("Окончание роли указано без часового пояса."))
        except RoleError as exc:
            raise RoleGrantConflict(str(exc.message), code=exc.code or "", index=index) from None
        if grant.valid_to is not None and grant.valid_to <= grant.valid_from:
            raise RoleGrantConflict(
                _("Окончание роли должно быть позже её начала."),
                code="empty_interval",
                index=index,
            )
    person_ids = {grant.person_id for grant in grants}
    # Lock the people as grant_role does, so a live grant cannot slip in between.
    list(Person.objects.select_for_update().filter(pk__in=person_ids).values_list("pk"))
    history: dict[tuple[int, int, str], list[tuple[datetime, datetime | None]]] = defaultdict(list)
    wanted = {(grant.person_id, grant.organization_id, grant.role) for grant in grants}
    for person_id, organization_id, role, start, end in RoleGrant.objects.filter(
        person_id__in=person_ids,
        organization_id__in={grant.organization_id for grant in grants},
        role__in={grant.role for grant in grants},
    ).values_list("person_id", "organization_id", "role", "valid_from", "valid_to"):
        if (person_id, organization_id, role) in wanted:
            history[(person_id, organization_id, role)].append((start, end))
    new: list[RoleGrant] = []
    for index, grant in enumerate(grants):
        held = history[(grant.person_id, grant.organization_id, grant.role)]
        if (grant.valid_from, grant.valid_to) in held:
            continue
        for start, end in held:
            if start == grant.valid_from:
                raise RoleGrantConflict(
                    _("Роль «%(role)s» с этим началом уже записана с другим окончанием (%(end)s).")
                    % {"role": Role(grant.role).label, "end": _open_end(end)},
                    code="conflicting_end",
                    index=index,
                )
            if _overlap(start, end, grant.valid_from, grant.valid_to):
                raise RoleGrantConflict(
                    _(
                        "Роль «%(role)s» пересекается с другой записью этой роли того же человека "
                        "в той же организации (с %(start)s, %(end)s): история стала бы "
                        "неоднозначной."
                    )
                    % {
                        "role": Role(grant.role).label,
                        "start": start.isoformat(),
                        "end": _open_end(end),
                    },
                    code="overlap",
                    index=index,
                )
        held.append((grant.valid_from, grant.valid_to))
        new.append(grant)
    insert_models(RoleGrant, new)
    return new

"""Reads for the invitations' status pages: who of a class (or of the staff) was invited,
who joined, when each was last texted.

A person's row is their latest invitation for that role (and child): a reissued one
replaces the revoked one, and an invitation revoked with no successor is no longer shown.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from parta.accounts.models import Person, Role
from parta.invites.invitations import may_invite, unseal
from parta.invites.models import InvitationSms, PersonalInvitation
from parta.invites.selectors import classes_led, is_admin
from parta.structure.models import Organization, SchoolClass
from parta.structure.selectors import classes_of, current_academic_year

FAMILY_ROLES = (Role.STUDENT, Role.PARENT)
# As delivery.SMS_AGAIN_AFTER (which reads this module): one SMS a day.
TEXT_AGAIN_AFTER = timedelta(hours=24)
STAFF_ROLES = (Role.TEACHER, Role.STAFF)


def with_related(invitations: QuerySet[PersonalInvitation]) -> QuerySet[PersonalInvitation]:
    """What slips, texts and rows read of each invitation, in one query."""
    return invitations.select_related(
        "organization__district__region", "person", "child", "school_class"
    )


def current_classes(organization: Organization) -> QuerySet[SchoolClass]:
    """This academic year's classes, and those made without a year (taken as this one's)."""
    return classes_of(organization).filter(
        Q(academic_year=current_academic_year(organization)) | Q(academic_year__isnull=True),
        is_staff_class=False,
    )


def classes_visible_to(
    person: Person, organization: Organization, when: datetime
) -> tuple[list[SchoolClass], bool]:
    """The classes whose invitations `person` follows, and whether they are an admin (who
    also sees the staff's); PermissionDenied for anyone who follows none."""
    classes = list(current_classes(organization))
    if is_admin(person, organization, when):
        return classes, True
    led = {school_class.pk for school_class in classes_led(person, organization, when)}
    mine = [school_class for school_class in classes if school_class.pk in led]
    if not mine:
        raise PermissionDenied(
            _("Приглашения видят администраторы школы и классные руководители своего класса.")
        )
    return mine, False


def require_group(
    person: Person, organization: Organization, school_class: SchoolClass | None
) -> None:
    """A class's page for its class teacher and admins; the staff's (None) for admins."""
    if not may_invite(person, organization, school_class):
        raise PermissionDenied(
            _("Приглашения видят администраторы школы и классные руководители своего класса.")
        )


def group_invitations(
    organization: Organization, school_class: SchoolClass | None
) -> QuerySet[PersonalInvitation]:
    """Every invitation of a class's families, or of the staff (school_class None)."""
    invitations = PersonalInvitation.objects.filter(organization=organization)
    if school_class is None:
        return invitations.filter(role__in=STAFF_ROLES)
    return invitations.filter(school_class=school_class, role__in=FAMILY_ROLES)


def latest(invitations: Iterable[PersonalInvitation]) -> list[PersonalInvitation]:
    """Each person's (role's, child's) newest invitation, unless it was revoked."""
    newest: dict[tuple[int, str, int | None], PersonalInvitation] = {}
    for invitation in invitations:
        key = (invitation.person_id, invitation.role, invitation.child_id)
        kept = newest.get(key)
        if kept is None or (invitation.created_at, invitation.pk) > (kept.created_at, kept.pk):
            newest[key] = invitation
    return [invitation for invitation in newest.values() if invitation.revoked_at is None]


# What the counts read of each invitation.
_COUNTED = ("person", "role", "child", "school_class", "used_at", "revoked_at", "created_at")


@dataclass(frozen=True)
class GroupCounts:
    school_class: SchoolClass | None  # None: the teachers and staff
    invited: int
    joined: int

    @property
    def not_joined(self) -> int:
        return self.invited - self.joined


def counts(
    organization: Organization, classes: Iterable[SchoolClass], *, staff: bool
) -> list[GroupCounts]:
    """Invited and joined for each class (and the staff's row when `staff`), in one query."""
    classes = list(classes)
    rows = PersonalInvitation.objects.filter(organization=organization).filter(
        Q(school_class__in=classes, role__in=FAMILY_ROLES)
        | (Q(role__in=STAFF_ROLES) if staff else Q(pk__in=[]))
    )
    by_group: dict[int | None, list[PersonalInvitation]] = {}
    for invitation in latest(rows.only(*_COUNTED)):
        group = None if invitation.role in STAFF_ROLES else invitation.school_class_id
        by_group.setdefault(group, []).append(invitation)

    def of(group: int | None, school_class: SchoolClass | None) -> GroupCounts:
        found = by_group.get(group, [])
        joined = sum(1 for invitation in found if invitation.used_at is not None)
        return GroupCounts(school_class=school_class, invited=len(found), joined=joined)

    result = [of(school_class.pk, school_class) for school_class in classes]
    return [*result, of(None, None)] if staff else result


@dataclass
class InvitationRow:
    invitation: PersonalInvitation
    last_sms: InvitationSms | None
    unreadable: bool  # its code is lost (SECRET_KEY changed): only a reissue helps
    now: datetime

    @property
    def joined(self) -> bool:
        return self.invitation.used_at is not None

    @property
    def expired(self) -> bool:
        return not self.joined and self.invitation.expires_at <= self.now

    def texted_since(self, since: datetime) -> bool:
        sms = self.last_sms
        return sms is not None and sms.status == InvitationSms.Status.SENT and sms.sent_at > since

    @property
    def has_phone(self) -> bool:
        return bool(self.invitation.person.phone)

    @property
    def deliverable(self) -> bool:
        """Worth printing or texting: not joined, still valid, its code readable."""
        return not (self.joined or self.expired or self.unreadable)


@dataclass
class Family:
    """A child with her own and her parents' invitations, or one member of staff."""

    heading: str
    rows: list[InvitationRow] = field(default_factory=list)


def _sort_name(person: Person | None) -> tuple[str, str, str]:
    if person is None:
        return ("", "", "")
    return (person.surname.casefold(), person.name.casefold(), person.patronymic.casefold())


def group_families(
    organization: Organization, school_class: SchoolClass | None, now: datetime
) -> list[Family]:
    """The rows of a class's page (or the staff's), by family, in alphabetical order."""
    invitations = latest(with_related(group_invitations(organization, school_class)))
    last_sms: dict[int, InvitationSms] = {}
    for sms in InvitationSms.objects.filter(invitation__in=invitations).order_by("sent_at", "pk"):
        last_sms[sms.invitation_id] = sms
    families: dict[tuple[str, int], tuple[Person, Family]] = {}
    for invitation in invitations:
        child = invitation.person if invitation.role == Role.STUDENT else invitation.child
        if school_class is None or child is None:
            key, anchor = ("person", invitation.pk), invitation.person
        else:
            key, anchor = ("family", child.pk), child
        _anchor, family = families.setdefault(key, (anchor, Family(heading=anchor.full_name)))
        family.rows.append(
            InvitationRow(
                invitation=invitation,
                last_sms=last_sms.get(invitation.pk),
                unreadable=unseal(invitation) is None,
                now=now,
            )
        )
    for _anchor, family in families.values():
        family.rows.sort(
            key=lambda row: (row.invitation.role != Role.STUDENT, _sort_name(row.invitation.person))
        )
    ordered = sorted(families.values(), key=lambda pair: _sort_name(pair[0]))
    return [family for _anchor, family in ordered]


def deliverable(families: Iterable[Family]) -> list[PersonalInvitation]:
    """The invitations still to print or text, in the page's order."""
    return [row.invitation for family in families for row in family.rows if row.deliverable]


def to_text(families: list[Family], now: datetime) -> list[PersonalInvitation]:
    """Whom «send to all» texts: not joined, with a phone, not texted in the last day."""
    since = now - TEXT_AGAIN_AFTER
    return [
        row.invitation
        for family in families
        for row in family.rows
        if row.deliverable and row.has_phone and not row.texted_since(since)
    ]

"""Reads for joining: what an actor may do with links, the request queue, members, the audit."""

import re
from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import QuerySet

from parta.accounts.models import AuditEntry, Person, Role
from parta.accounts.selectors import (
    class_at,
    current_memberships,
    holds_role,
    role_grants_held_at,
    students_in_class,
)
from parta.invites.models import InviteLink, JoinRequest
from parta.structure.models import Organization, SchoolClass

# What a class teacher may invite to their own class; admins invite to any role.
CLASS_TEACHER_ROLES = (Role.STUDENT, Role.PARENT)


def is_admin(person: Person, organization: Organization, when: datetime) -> bool:
    return person.is_authenticated and holds_role(person, organization, Role.ADMIN, when)


def leads_class(person: Person, school_class: SchoolClass, when: datetime) -> bool:
    """The class teacher of `school_class`, while they are a teacher of its school."""
    return (
        person.is_authenticated
        and school_class.class_teacher_id == person.pk
        and holds_role(person, school_class.organization, Role.TEACHER, when)
    )


def may_make_link(
    person: Person,
    organization: Organization,
    role: str,
    school_class: SchoolClass | None,
    when: datetime,
) -> bool:
    if is_admin(person, organization, when):
        return True
    return (
        role in CLASS_TEACHER_ROLES
        and school_class is not None
        and school_class.organization_id == organization.pk
        and leads_class(person, school_class, when)
    )


def may_manage_link(person: Person, link: InviteLink, when: datetime) -> bool:
    """Revoke it, see who joined: whoever could make such a link now."""
    return may_make_link(person, link.organization, link.role, link.school_class, when)


def classes_led(person: Person, organization: Organization, when: datetime) -> list[SchoolClass]:
    if not holds_role(person, organization, Role.TEACHER, when):
        return []
    return list(SchoolClass.objects.filter(organization=organization, class_teacher=person))


def links_visible_to(
    person: Person, organization: Organization, when: datetime
) -> QuerySet[InviteLink]:
    links = InviteLink.objects.filter(organization=organization).select_related(
        "school_class", "child", "created_by"
    )
    if is_admin(person, organization, when):
        return links
    led = [school_class.pk for school_class in classes_led(person, organization, when)]
    return links.filter(school_class_id__in=led, role__in=CLASS_TEACHER_ROLES)


def organizations_managed_by(
    person: Person,
    when: datetime,
    memberships: dict[Organization, list[str]] | None = None,
) -> list[tuple[Organization, bool]]:
    """Organizations where the person is an admin (True) or leads a class (False);
    `memberships` are `current_memberships(person, when)` when the caller has read them."""
    if memberships is None:
        memberships = current_memberships(person, when)
    # Only a teacher who is not also the admin there needs the classes read.
    leading: set[int] = set()
    if any(Role.TEACHER in roles and Role.ADMIN not in roles for roles in memberships.values()):
        leading = set(
            SchoolClass.objects.filter(class_teacher=person).values_list(
                "organization_id", flat=True
            )
        )
    return [
        (organization, Role.ADMIN in roles)
        for organization, roles in memberships.items()
        if Role.ADMIN in roles or (Role.TEACHER in roles and organization.pk in leading)
    ]


def pending_requests(organization: Organization) -> QuerySet[JoinRequest]:
    return (
        JoinRequest.objects.filter(organization=organization, status=JoinRequest.Status.PENDING)
        .select_related("person", "school_class", "child")
        .order_by("created_at", "id")
    )


def requests_of(person: Person) -> QuerySet[JoinRequest]:
    return JoinRequest.objects.filter(person=person).select_related("organization", "school_class")


@dataclass
class Member:
    person: Person
    roles: list[str] = field(default_factory=list)
    school_class: SchoolClass | None = None

    @property
    def role_labels(self) -> list[str]:
        return [str(Role(role).label) for role in self.roles]


def _phone_digits(query: str) -> str:
    digits = re.sub(r"\D", "", query)
    if len(digits) == 11 and digits.startswith("8"):
        digits = "7" + digits[1:]
    return digits


def members_of(
    organization: Organization,
    when: datetime,
    *,
    role: str = "",
    school_class: SchoolClass | None = None,
    query: str = "",
) -> list[Member]:
    """People holding a role in the organization at `when`, filtered by role, class, name/phone."""
    grants = role_grants_held_at([organization.pk], Role.values, when).select_related("person")
    if role:
        grants = grants.filter(
            person_id__in=role_grants_held_at([organization.pk], [role], when).values("person_id")
        )
    if school_class is not None:
        grants = grants.filter(person_id__in=students_in_class(school_class, when).values("pk"))
    members: dict[int, Member] = {}
    for grant in grants.order_by(
        "person__surname", "person__name", "person__patronymic", "person_id", "role"
    ):
        member = members.setdefault(grant.person_id, Member(person=grant.person))
        member.roles.append(grant.role)
    # Matched in Python: SQLite's LIKE folds the case of Latin letters only, not Cyrillic.
    words = query.casefold().split()
    digits = _phone_digits(query)
    found = [
        member
        for member in members.values()
        if not words
        or all(word in member.person.full_name.casefold() for word in words)
        or (len(digits) >= 4 and digits in (member.person.phone or ""))
    ]
    for member in found:
        if Role.STUDENT in member.roles:
            member.school_class = class_at(member.person, when)
    return found


def audit_log(organization: Organization, limit: int = 300) -> QuerySet[AuditEntry]:
    return AuditEntry.objects.filter(organization=organization).select_related("actor", "subject")[
        :limit
    ]

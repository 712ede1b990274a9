"""Who held which role when. The rest of Parta asks these questions only here."""

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _

from parta.accounts.models import ClassEnrolment, ParentLink, Person, Role, RoleGrant
from parta.structure.models import Organization, SchoolClass


def _aware(when: datetime) -> datetime:
    # A naive moment would be read as UTC, hours off the school's day: a caller's bug, say so.
    if timezone.is_naive(when):
        raise ValueError(f"naive datetime {when.isoformat()}: role history needs an aware one")
    return when


def grants_held_at(when: datetime) -> Q:
    """Rows with [valid_from, valid_to) containing `when` (grants, enrolments)."""
    _aware(when)
    return Q(valid_from__lte=when) & (Q(valid_to__isnull=True) | Q(valid_to__gt=when))


def grants_overlapping(start: datetime, end: datetime) -> Q:
    """Grants held at any moment of [start, end)."""
    if _aware(end) < _aware(start):
        raise ValueError(f"window ends ({end.isoformat()}) before it starts ({start.isoformat()})")
    return Q(valid_from__lt=end) & (Q(valid_to__isnull=True) | Q(valid_to__gt=start))


def roles_at(person: Person, organization: Organization, when: datetime) -> set[str]:
    return set(
        RoleGrant.objects.filter(
            grants_held_at(when), person=person, organization=organization
        ).values_list("role", flat=True)
    )


def holds_role(person: Person, organization: Organization, role: str, when: datetime) -> bool:
    return RoleGrant.objects.filter(
        grants_held_at(when), person=person, organization=organization, role=role
    ).exists()


def require_admin(actor: Person, organization: Organization, when: datetime | None = None) -> None:
    """Refuse (PermissionDenied) unless `actor` is an admin of the organization at `when`."""
    if not holds_role(actor, organization, Role.ADMIN, when or timezone.now()):
        raise PermissionDenied(
            _("Это может сделать только администратор организации «%(org)s».")
            % {"org": organization}
        )


def admin_organization(actor: Person, organization_id: int) -> Organization:
    """The organization an admin's page or API call is about, with its district and region:
    Http404 if there is none, PermissionDenied (require_admin) unless `actor` is its admin."""
    organization = get_object_or_404(
        Organization.objects.select_related("district__region"), pk=organization_id
    )
    require_admin(actor, organization)
    return organization


def people_with_role_during(
    organization: Organization, role: str, start: datetime, end: datetime
) -> QuerySet[Person]:
    return Person.objects.filter(
        pk__in=RoleGrant.objects.filter(
            grants_overlapping(start, end), organization=organization, role=role
        ).values("person_id")
    )


def teachers_during(organization: Organization, start: datetime, end: datetime) -> QuerySet[Person]:
    """People holding the teacher role in the organization at any moment of [start, end)."""
    return people_with_role_during(organization, Role.TEACHER, start, end)


def role_grants_during(
    organization_ids: Iterable[int], roles: Iterable[str], start: datetime, end: datetime
) -> QuerySet[RoleGrant]:
    """Grants of these roles in these organizations overlapping [start, end), for bulk readers."""
    return RoleGrant.objects.filter(
        grants_overlapping(start, end),
        organization_id__in=list(organization_ids),
        role__in=list(roles),
    )


def role_held_at_each(
    role: str, organization: Any, person: Any, moment: Any
) -> QuerySet[RoleGrant]:
    """Grants of `role` held at a moment, all three given as expressions (OuterRef) of an
    outer query: "was the author a teacher there when they wrote it", row by row in SQL."""
    return RoleGrant.objects.filter(
        role=role, organization_id=organization, person_id=person, valid_from__lte=moment
    ).filter(Q(valid_to__isnull=True) | Q(valid_to__gt=moment))


def teachers_of(organization: Organization, when: datetime) -> QuerySet[Person]:
    """Teachers of the organization at `when`: the people a class teacher is chosen from."""
    return Person.objects.filter(
        pk__in=role_grants_held_at([organization.pk], [Role.TEACHER], when).values("person_id")
    )


def role_grants_held_at(
    organization_ids: Iterable[int], roles: Iterable[str], when: datetime
) -> QuerySet[RoleGrant]:
    return RoleGrant.objects.filter(
        grants_held_at(when), organization_id__in=list(organization_ids), role__in=list(roles)
    )


def current_memberships(person: Person, when: datetime) -> dict[Organization, list[str]]:
    """The person's organizations and the roles held in each at `when`, for "my organizations"."""
    result: dict[Organization, list[str]] = {}
    for grant in (
        RoleGrant.objects.filter(grants_held_at(when), person=person)
        .select_related("organization__district__region")
        .order_by("organization__full_name", "role")
    ):
        result.setdefault(grant.organization, []).append(grant.role)
    return result


def role_history(person: Person, organization: Organization | None = None) -> QuerySet[RoleGrant]:
    grants = RoleGrant.objects.filter(person=person).select_related("organization")
    if organization is not None:
        grants = grants.filter(organization=organization)
    return grants.order_by("valid_from", "role")


def organizations_visible_to(person: Person, when: datetime) -> QuerySet[Organization]:
    """Organizations whose people `person` may see: the operator sees all, others their own."""
    if person.is_staff:
        return Organization.objects.all()
    return Organization.objects.filter(
        pk__in=RoleGrant.objects.filter(grants_held_at(when), person=person).values(
            "organization_id"
        )
    )


def class_at(student: Person, when: datetime) -> SchoolClass | None:
    """The class the student belonged to at `when`, if any."""
    enrolment = (
        ClassEnrolment.objects.filter(grants_held_at(when), student=student)
        .select_related("school_class")
        .first()
    )
    return enrolment.school_class if enrolment else None


def students_in_class(school_class: SchoolClass, when: datetime) -> QuerySet[Person]:
    return Person.objects.filter(
        pk__in=ClassEnrolment.objects.filter(
            grants_held_at(when), school_class=school_class
        ).values("student_id")
    )


def parents_of(child: Person) -> QuerySet[Person]:
    return Person.objects.filter(child_links__child=child)


def children_of(parent: Person) -> QuerySet[Person]:
    return Person.objects.filter(parent_links__parent=parent)


# --- who may see and reach whom inside a school -------------------------------------------
# Sferum's «безопасный режим», always on here: a student is reached only by the school's
# teachers and admins, their own parents and their classmates. A school's own roles decide,
# at the moment of asking; a person of another school is never in the picture.

# The adults of a school who may write to any of its students, and the people whom its
# students and parents see in its people list.
STUDENT_FACING_ROLES = frozenset({Role.ADMIN, Role.TEACHER})
# The school's staff: they see its whole people list, make group chats, and open calls to
# people from outside (links, guests).
STAFF_ROLES = frozenset({Role.ADMIN, Role.TEACHER, Role.STAFF})


def _family_ids(person: Person, others: Iterable[int]) -> set[int]:
    """Those of `others` who are the person's parents or children."""
    ids = list(others)
    links = ParentLink.objects.filter(
        Q(parent=person, child_id__in=ids) | Q(child=person, parent_id__in=ids)
    ).values_list("parent_id", "child_id")
    return {other for pair in links for other in pair if other != person.pk}


def _classmate_ids(student: Person, when: datetime) -> QuerySet[ClassEnrolment, int]:
    """Enrolments (student ids) of the class the student belongs to at `when`."""
    return ClassEnrolment.objects.filter(
        grants_held_at(when),
        school_class__in=ClassEnrolment.objects.filter(
            grants_held_at(when), student=student
        ).values("school_class_id"),
    ).values_list("student_id", flat=True)


def directly_reachable(
    person: Person, organization: Organization, candidates: Iterable[int], when: datetime
) -> set[int]:
    """Those of `candidates` with whom `person` may open a direct chat in `organization`.

    Both must hold a role there now. A pair with a student in it also needs the other one
    to be a teacher or admin of the school, the student's parent or child, or a student of
    the same class: a parent never opens a chat with another family's child, nor a student
    with another family's parent.
    """
    ids = {pk for pk in candidates if pk != person.pk}
    mine = roles_at(person, organization, when)
    if not mine or not ids:
        return set()
    theirs: dict[int, set[str]] = {}
    for pk, role in (
        role_grants_held_at([organization.pk], Role.values, when)
        .filter(person_id__in=ids)
        .values_list("person_id", "role")
    ):
        theirs.setdefault(pk, set()).add(role)
    family = _family_ids(person, theirs)
    classmates = set(_classmate_ids(person, when)) if Role.STUDENT in mine else set()

    def reaches_student(roles: set[str], pk: int) -> bool:
        # `roles` are of whoever faces a student; `pk` is the other one of the pair.
        return (
            bool(roles & STUDENT_FACING_ROLES)
            or pk in family
            or (Role.STUDENT in roles and pk in classmates)
        )

    return {
        pk
        for pk, roles in theirs.items()
        if (Role.STUDENT not in roles or reaches_student(mine, pk))
        and (Role.STUDENT not in mine or reaches_student(roles, pk))
    }


def may_reach_directly(
    person: Person, other: Person, organization: Organization, when: datetime
) -> bool:
    return other.pk in directly_reachable(person, organization, [other.pk], when)


def visible_grants(
    viewer: Person, organization: Organization, when: datetime
) -> QuerySet[RoleGrant]:
    """The role grants held at `when` in `organization` that `viewer` may see in its people
    list: all of them for the operator and the school's adults at work there; for a parent
    the teachers and admins and their own children, for a student the teachers and admins,
    their classmates and their parents. Nobody else's children are listed to families."""
    grants = role_grants_held_at([organization.pk], Role.values, when)
    if viewer.is_staff:
        return grants
    mine = roles_at(viewer, organization, when)
    if mine & STAFF_ROLES:
        return grants
    if not mine:
        return grants.none()
    seen = Q(role__in=STUDENT_FACING_ROLES) | Q(person=viewer)
    children = ParentLink.objects.filter(parent=viewer).values("child_id")
    seen |= Q(role=Role.STUDENT, person_id__in=children)
    if Role.STUDENT in mine:
        seen |= Q(role=Role.STUDENT, person_id__in=_classmate_ids(viewer, when))
        seen |= Q(
            role=Role.PARENT,
            person_id__in=ParentLink.objects.filter(child=viewer).values("parent_id"),
        )
    return grants.filter(seen)

"""Who held which role when. The rest of Parta asks these questions only here."""

from collections.abc import Iterable
from datetime import datetime

from django.db.models import Q, QuerySet

from parta.accounts.models import Person, Role, RoleGrant
from parta.structure.models import Organization


def grants_held_at(when: datetime) -> Q:
    return Q(valid_from__lte=when) & (Q(valid_to__isnull=True) | Q(valid_to__gt=when))


def grants_overlapping(start: datetime, end: datetime) -> Q:
    """Grants held at any moment of [start, end)."""
    return Q(valid_from__lt=end) & (Q(valid_to__isnull=True) | Q(valid_to__gt=start))


def roles_at(person: Person, organization: Organization, when: datetime) -> set[str]:
    return set(
        RoleGrant.objects.filter(grants_held_at(when), person=person, organization=organization)
        .values_list("role", flat=True)
    )


def holds_role(person: Person, organization: Organization, role: str, when: datetime) -> bool:
    return RoleGrant.objects.filter(
        grants_held_at(when), person=person, organization=organization, role=role
    ).exists()


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
    """All grants of these roles in these organizations overlapping [start, end), for bulk readers."""
    return RoleGrant.objects.filter(
        grants_overlapping(start, end), organization_id__in=list(organization_ids),
        role__in=list(roles),
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


def people_of_organization(organization: Organization, when: datetime) -> QuerySet[Person]:
    return Person.objects.filter(
        pk__in=RoleGrant.objects.filter(grants_held_at(when), organization=organization).values(
            "person_id"
        )
    ).distinct()

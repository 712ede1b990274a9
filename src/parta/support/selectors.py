"""Reads for admin-change requests: who may file, see, view documents; the desk's queue."""

from datetime import datetime

from django.db.models import Q, QuerySet

from parta.accounts.models import Person, Role
from parta.accounts.selectors import current_memberships, holds_role, role_grants_held_at
from parta.structure.models import Organization
from parta.support.models import AdminChangeRequest

# The letter's case is often that the admin is gone: then a teacher writes on the school's
# behalf (the letter itself carries the head's signature).
FILING_ROLES = (Role.ADMIN, Role.TEACHER)


def is_operator(person: Person) -> bool:
    return person.is_active and person.is_staff


def may_file(person: Person, organization: Organization, when: datetime) -> bool:
    return any(holds_role(person, organization, role, when) for role in FILING_ROLES)


def filing_organizations(person: Person, when: datetime) -> list[Organization]:
    """Organizations for which `person` may file a request now."""
    return [
        organization
        for organization, roles in current_memberships(person, when).items()
        if set(roles) & set(FILING_ROLES)
    ]


def current_admins(organization: Organization, when: datetime) -> QuerySet[Person]:
    return Person.objects.filter(
        pk__in=role_grants_held_at([organization.pk], [Role.ADMIN], when).values("person_id")
    )


def _same_name(a: str, b: str) -> bool:
    return " ".join(a.lower().replace("ё", "е").split()) == " ".join(
        b.lower().replace("ё", "е").split()
    )


def default_admins_to_remove(organization: Organization, when: datetime) -> list[Person]:
    """Every current admin but the head (known by the profile's head name): the letter's
    «сменился администратор» means the responsible admin goes, the head stays.
    """
    return [
        admin
        for admin in current_admins(organization, when)
        if not (
            organization.head_full_name and _same_name(admin.full_name, organization.head_full_name)
        )
    ]


def requests_seen_by(person: Person, when: datetime) -> QuerySet[AdminChangeRequest]:
    """The school side: requests `person` filed and all requests of schools they administer."""
    administered = [
        organization.pk
        for organization, roles in current_memberships(person, when).items()
        if Role.ADMIN in roles
    ]
    return (
        AdminChangeRequest.objects.filter(Q(filed_by=person) | Q(organization_id__in=administered))
        .select_related("organization__district__region", "filed_by", "decided_by")
        .order_by("-filed_at", "-id")
    )


def may_see_request(person: Person, change: AdminChangeRequest, when: datetime) -> bool:
    return (
        is_operator(person)
        or change.filed_by_id == person.pk
        or holds_role(person, change.organization, Role.ADMIN, when)
    )


def may_view_documents(person: Person, change: AdminChangeRequest, when: datetime) -> bool:
    """The letter and the order carry personal data: operators and the school's admins only."""
    return is_operator(person) or holds_role(person, change.organization, Role.ADMIN, when)


def queue() -> QuerySet[AdminChangeRequest]:
    """Open requests, oldest first: the support desk's work."""
    return (
        AdminChangeRequest.objects.filter(status__in=AdminChangeRequest.OPEN)
        .select_related("organization__district__region", "filed_by", "taken_by")
        .order_by("filed_at", "id")
    )


def recently_decided(limit: int = 50) -> QuerySet[AdminChangeRequest]:
    return (
        AdminChangeRequest.objects.exclude(status__in=AdminChangeRequest.OPEN)
        .select_related("organization__district__region", "filed_by", "decided_by")
        .order_by("-decided_at", "-id")[:limit]
    )


def person_with_phone(phone: str) -> Person | None:
    return Person.objects.filter(phone=phone).first()

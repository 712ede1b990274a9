"""What a report covers (organization, district, region, platform) and who may see it."""

from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from parta.accounts.models import Person, Role
from parta.accounts.selectors import current_memberships
from parta.structure.models import District, Organization, Region

DEFAULT_KINDS: tuple[str, ...] = (Organization.Kind.SCHOOL,)
# Roles in a school that may see its counts; students and parents may not (least privilege).
SCHOOL_VIEWER_ROLES = (Role.ADMIN, Role.TEACHER, Role.STAFF)
# Roles in an authority that may see its district; heads of schools hold the teacher role
# in the authority (the letter) and must not see their neighbours through it.
AUTHORITY_VIEWER_ROLES = (Role.ADMIN, Role.STAFF)


class ScopeError(ValueError):
    """A scope that does not exist or that the caller may not see."""


@dataclass(frozen=True)
class Scope:
    level: str  # "platform", "region", "district", "organization"
    region: Region | None = None
    district: District | None = None
    organization: Organization | None = None
    kinds: tuple[str, ...] = field(default=DEFAULT_KINDS)

    def organizations(self) -> QuerySet[Organization]:
        orgs = Organization.objects.select_related("district__region")
        if self.organization is not None:
            # An organization asked for by name is reported whatever its kind.
            return orgs.filter(pk=self.organization.pk)
        orgs = orgs.filter(kind__in=self.kinds)
        if self.district is not None:
            return orgs.filter(district=self.district)
        if self.region is not None:
            return orgs.filter(district__region=self.region)
        return orgs

    @property
    def ref(self) -> str:
        """How URLs and `parta report` name the scope: external id first, else database id."""
        target = self.organization or self.district or self.region
        if target is None:
            return "all"
        return target.external_id or str(target.pk)

    @property
    def query(self) -> dict[str, str]:
        """The report parameters that select this scope again."""
        name = {"organization": "org", "district": "district", "region": "region"}
        return {name[self.level]: self.ref} if self.level in name else {}

    @property
    def label(self) -> str:
        """Names the scope in access logs and file names: «district:d1», «platform»."""
        return ":".join(f"{k}:{v}" for k, v in self.query.items()) or "platform"

    @property
    def title(self) -> str:
        target = self.organization or self.district or self.region
        return str(target) if target is not None else _("Вся платформа")


_Place = TypeVar("_Place", Region, District, Organization)


def _by_id(model: type[_Place], ref: str, what: str) -> _Place:
    """Find by external id first, then by database id."""
    found = model.objects.filter(external_id=ref).first()
    if found is None and ref.isdigit():
        found = model.objects.filter(pk=int(ref)).first()
    if found is None:
        raise ScopeError(_("%(what)s «%(ref)s» не найден(а).") % {"what": what, "ref": ref})
    return found


def parse_kinds(text: str | None) -> tuple[str, ...]:
    if not text:
        return DEFAULT_KINDS
    kinds = tuple(dict.fromkeys(k.strip() for k in text.split(",") if k.strip()))
    unknown = [k for k in kinds if k not in Organization.Kind.values]
    if unknown or not kinds:
        raise ScopeError(
            _("Неизвестный вид организации: %(kinds)s. Допустимы: school, authority, other.")
            % {"kinds": ", ".join(unknown) or text}
        )
    return kinds


def resolve_scope(
    *,
    region: str | None = None,
    district: str | None = None,
    org: str | None = None,
    kinds: str | None = None,
) -> Scope:
    if sum(bool(x) for x in (region, district, org)) > 1:
        raise ScopeError(_("Укажите что-то одно: регион, район или организацию."))
    parsed_kinds = parse_kinds(kinds)
    if org:
        return Scope(
            "organization",
            organization=_by_id(Organization, org, _("Организация")),
            kinds=parsed_kinds,
        )
    if district:
        return Scope(
            "district", district=_by_id(District, district, _("Район")), kinds=parsed_kinds
        )
    if region:
        return Scope("region", region=_by_id(Region, region, _("Регион")), kinds=parsed_kinds)
    return Scope("platform", kinds=parsed_kinds)


@dataclass(frozen=True)
class ReportAccessRights:
    """What one person may see in reports at a moment."""

    everything: bool
    region_ids: frozenset[int] = frozenset()
    district_ids: frozenset[int] = frozenset()
    organization_ids: frozenset[int] = frozenset()
    # Organizations whose per-teacher table (names with their counts) this person may see:
    # their admins only; authorities and colleagues see the organization's numbers.
    admin_of_ids: frozenset[int] = frozenset()

    @property
    def anything(self) -> bool:
        return self.everything or bool(
            self.region_ids or self.district_ids or self.organization_ids
        )

    def allows(self, scope: Scope) -> bool:
        if self.everything:
            return True
        if scope.organization is not None:
            org = scope.organization
            return (
                org.pk in self.organization_ids
                or org.district_id in self.district_ids
                or org.district.region_id in self.region_ids
            )
        if scope.district is not None:
            return (
                scope.district.pk in self.district_ids
                or scope.district.region_id in self.region_ids
            )
        if scope.region is not None:
            return scope.region.pk in self.region_ids
        return False

    def authorize(self, scope: Scope) -> Scope:
        if not self.allows(scope):
            raise PermissionError(_("Этот отчёт вам недоступен."))
        return scope

    def administers(self, organization: Organization) -> bool:
        return organization.pk in self.admin_of_ids

    def sees_teachers_of(self, organization: Organization) -> bool:
        return self.administers(organization)

    def default_scope(self, kinds: tuple[str, ...] = DEFAULT_KINDS) -> Scope:
        if self.everything:
            return Scope("platform", kinds=kinds)
        if self.region_ids:
            return Scope("region", region=Region.objects.get(pk=min(self.region_ids)), kinds=kinds)
        if self.district_ids:
            return Scope(
                "district", district=District.objects.get(pk=min(self.district_ids)), kinds=kinds
            )
        if self.organization_ids:
            # A head is also a teacher of the authority (the letter); their school comes first.
            own = sorted(
                Organization.objects.filter(pk__in=self.organization_ids),
                key=lambda org: (org.kind != Organization.Kind.SCHOOL, org.full_name, org.pk),
            )
            return Scope("organization", organization=own[0], kinds=kinds)
        raise PermissionError(_("У вас нет доступа к отчётам."))


def report_access_rights(
    person: Person,
    when: datetime,
    memberships: dict[Organization, list[str]] | None = None,
) -> ReportAccessRights:
    """What `person` may see at `when`; `memberships` are `current_memberships(person, when)`
    when the caller has read them already."""
    if person.is_staff:
        return ReportAccessRights(everything=True)
    regions: set[int] = set()
    districts: set[int] = set()
    organizations: set[int] = set()
    admin_of: set[int] = set()
    if memberships is None:
        memberships = current_memberships(person, when)
    for org, roles in memberships.items():
        if org.kind == Organization.Kind.AUTHORITY and set(roles) & set(AUTHORITY_VIEWER_ROLES):
            if org.oversees_region:
                regions.add(org.district.region_id)
            else:
                districts.add(org.district_id)
        if set(roles) & set(SCHOOL_VIEWER_ROLES):
            organizations.add(org.pk)
        if Role.ADMIN in roles:
            admin_of.add(org.pk)
    return ReportAccessRights(
        everything=False,
        region_ids=frozenset(regions),
        district_ids=frozenset(districts),
        organization_ids=frozenset(organizations),
        admin_of_ids=frozenset(admin_of),
    )

"""Invites API: links, redeeming them, join requests, members and the audit log.

The token travels only in request bodies (POST /preview, /redeem), never in a URL.
A new link's token is in the creation response once; it is not stored.
"""

from collections.abc import Callable
from datetime import datetime

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.utils import timezone
from ninja import Field, Query, Router, Schema, Status
from ninja.errors import HttpError

from parta.accounts.models import Person, Role
from parta.accounts.selectors import require_admin
from parta.accounts.signin import client_ip
from parta.api_errors import Id, signed_in_person
from parta.invites import selectors, services
from parta.invites.models import InviteLink, JoinRequest
from parta.structure.models import Organization, SchoolClass

router = Router(tags=["invites"])


class LinkIn(Schema):
    role: str
    school_class_id: Id | None = None
    child_id: Id | None = None
    expires_in_days: int = services.DEFAULT_EXPIRY_DAYS
    max_uses: int | None = Field(None, le=2**31 - 1)  # the column's range everywhere
    needs_approval: bool | None = None


class InviteLinkOut(Schema):
    id: int
    organization_id: int
    role: str
    school_class_id: int | None
    child_id: int | None
    token_hint: str
    needs_approval: bool
    max_uses: int | None
    uses: int
    expires_at: datetime
    revoked_at: datetime | None
    created_by_id: int


class NewInviteLinkOut(InviteLinkOut):
    url: str  # shown once: only the token's HMAC is stored


class TokenIn(Schema):
    token: str


class PreviewOut(Schema):
    organization: str
    role: str
    role_label: str
    school_class: str | None
    needs_approval: bool
    expires_at: datetime


class RedeemOut(Schema):
    joined: bool
    join_request_id: int | None


class JoinRequestIn(Schema):
    role: str
    school_class_id: Id | None = None
    message: str = ""


class JoinRequestOut(Schema):
    id: int
    person_id: int
    organization_id: int
    role: str
    school_class_id: int | None
    status: str
    reason: str
    created_at: datetime
    decided_at: datetime | None


class JoinRejectIn(Schema):
    reason: str


class OrganizationMemberOut(Schema):
    id: int
    full_name: str
    phone: str | None
    roles: list[str]
    school_class_id: int | None


class MemberQuery(Schema):
    role: str = ""
    class_id: Id | None = None
    q: str = ""


class RoleIn(Schema):
    role: str


class AuditOut(Schema):
    at: datetime
    action: str
    actor_id: int | None
    subject_id: int | None
    details: dict[str, object]


def _organization(organization_id: int) -> Organization:
    return get_object_or_404(
        Organization.objects.select_related("district__region"), pk=organization_id
    )


def _admin_organization(request: HttpRequest, organization_id: int) -> Organization:
    organization = _organization(organization_id)
    require_admin(signed_in_person(request), organization)
    return organization


def _class(organization: Organization, class_id: int | None) -> SchoolClass | None:
    if class_id is None:
        return None
    return get_object_or_404(SchoolClass, pk=class_id, organization=organization)


def _unavailable(error: services.InviteUnavailable) -> HttpError:
    return HttpError(404, str(error))


def _limited(request: HttpRequest, action: str) -> None:
    person = request.user if isinstance(request.user, Person) else None
    try:
        services.check_rate(action, client_ip(request), person)
    except services.RateLimited as limited:
        raise HttpError(429, str(limited)) from None


# --- links --------------------------------------------------------------------------------


@router.get("/organizations/{organization_id}/links", response=list[InviteLinkOut])
def list_links(request: HttpRequest, organization_id: Id) -> list[InviteLink]:
    """Links the caller may manage: all for admins, their class's for a class teacher."""
    return list(
        selectors.links_visible_to(
            signed_in_person(request), _organization(organization_id), timezone.now()
        )
    )


@router.post("/organizations/{organization_id}/links", response={201: NewInviteLinkOut})
def create_link(request: HttpRequest, organization_id: Id, payload: LinkIn) -> Status[object]:
    organization = _organization(organization_id)
    child = get_object_or_404(Person, pk=payload.child_id) if payload.child_id else None
    new = services.create_invite(
        organization,
        payload.role,
        actor=signed_in_person(request),
        school_class=_class(organization, payload.school_class_id),
        child=child,
        expires_in_days=payload.expires_in_days,
        max_uses=payload.max_uses,
        needs_approval=payload.needs_approval,
    )
    out = InviteLinkOut.model_validate(new.link)
    return Status(
        201, NewInviteLinkOut(**out.model_dump(), url=request.build_absolute_uri(new.path))
    )


@router.post("/links/{link_id}/revoke", response=InviteLinkOut)
def revoke_link(request: HttpRequest, link_id: Id) -> InviteLink:
    link = get_object_or_404(InviteLink.objects.select_related("organization"), pk=link_id)
    return services.revoke_invite(link, actor=signed_in_person(request))


@router.post("/preview", auth=None, response=PreviewOut)
def preview(request: HttpRequest, payload: TokenIn) -> PreviewOut:
    """What a link grants, before signing in. Unknown, expired, revoked, used up: one 404."""
    _limited(request, "redeem")
    try:
        link = services.invite_by_token(payload.token)
    except services.InviteUnavailable as error:
        raise _unavailable(error) from None
    return PreviewOut(
        organization=link.organization.full_name,
        role=link.role,
        role_label=str(Role(link.role).label),
        school_class=link.school_class.name if link.school_class else None,
        needs_approval=link.needs_approval,
        expires_at=link.expires_at,
    )


@router.post("/redeem", response=RedeemOut)
def redeem(request: HttpRequest, payload: TokenIn) -> RedeemOut:
    _limited(request, "redeem")
    try:
        link = services.invite_by_token(payload.token)
        redemption = services.redeem_invite(link.pk, signed_in_person(request))
    except services.InviteUnavailable as error:
        raise _unavailable(error) from None
    return RedeemOut(
        joined=redemption.joined,
        join_request_id=redemption.join_request.pk if redemption.join_request else None,
    )


# --- join requests ------------------------------------------------------------------------


@router.post("/organizations/{organization_id}/requests", response={201: JoinRequestOut})
def create_request(
    request: HttpRequest, organization_id: Id, payload: JoinRequestIn
) -> Status[object]:
    organization = _organization(organization_id)
    _limited(request, "request")
    joined = services.request_to_join(
        signed_in_person(request),
        organization,
        payload.role,
        school_class=_class(organization, payload.school_class_id),
        message=payload.message,
    )
    return Status(201, joined)


@router.get("/my/requests", response=list[JoinRequestOut])
def my_requests(request: HttpRequest) -> list[JoinRequest]:
    return list(selectors.requests_of(signed_in_person(request)))


@router.get("/organizations/{organization_id}/requests", response=list[JoinRequestOut])
def pending_requests(request: HttpRequest, organization_id: Id) -> list[JoinRequest]:
    return list(selectors.pending_requests(_admin_organization(request, organization_id)))


def _decide(request: HttpRequest, request_id: int, reason: str | None) -> JoinRequest:
    join_request = get_object_or_404(
        JoinRequest.objects.select_related("organization", "person"), pk=request_id
    )
    if reason is None:
        return services.approve_request(join_request, actor=signed_in_person(request))
    return services.reject_request(join_request, actor=signed_in_person(request), reason=reason)


@router.post("/requests/{request_id}/approve", response=JoinRequestOut)
def approve_request(request: HttpRequest, request_id: Id) -> JoinRequest:
    return _decide(request, request_id, None)


@router.post("/requests/{request_id}/reject", response=JoinRequestOut)
def reject_request(request: HttpRequest, request_id: Id, payload: JoinRejectIn) -> JoinRequest:
    return _decide(request, request_id, payload.reason)


# --- members and the audit ----------------------------------------------------------------


@router.get("/organizations/{organization_id}/members", response=list[OrganizationMemberOut])
def list_members(
    request: HttpRequest, organization_id: Id, query: Query[MemberQuery]
) -> list[OrganizationMemberOut]:
    organization = _admin_organization(request, organization_id)
    return [
        OrganizationMemberOut(
            id=member.person.pk,
            full_name=member.person.full_name,
            phone=member.person.phone,
            roles=member.roles,
            school_class_id=member.school_class.pk if member.school_class else None,
        )
        for member in selectors.members_of(
            organization,
            timezone.now(),
            role=query.role if query.role in Role.values else "",
            school_class=_class(organization, query.class_id),
            query=query.q,
        )
    ]


def _member_change(
    request: HttpRequest,
    organization_id: int,
    person_id: int,
    change: Callable[[Person, Organization, Person], object],
) -> None:
    organization = _admin_organization(request, organization_id)
    person = get_object_or_404(Person, pk=person_id)
    change(person, organization, signed_in_person(request))


@router.post("/organizations/{organization_id}/members/{person_id}/roles", response={204: None})
def add_role(
    request: HttpRequest, organization_id: Id, person_id: Id, payload: RoleIn
) -> Status[object]:
    _member_change(
        request,
        organization_id,
        person_id,
        lambda person, organization, actor: services.add_role(
            person, organization, payload.role, actor=actor
        ),
    )
    return Status(204, None)


@router.delete(
    "/organizations/{organization_id}/members/{person_id}/roles/{role}", response={204: None}
)
def remove_role(
    request: HttpRequest, organization_id: Id, person_id: Id, role: str
) -> Status[object]:
    _member_change(
        request,
        organization_id,
        person_id,
        lambda person, organization, actor: services.remove_role(
            person, organization, role, actor=actor
        ),
    )
    return Status(204, None)


@router.delete("/organizations/{organization_id}/members/{person_id}", response={204: None})
def remove_member(request: HttpRequest, organization_id: Id, person_id: Id) -> Status[object]:
    _member_change(
        request,
        organization_id,
        person_id,
        lambda person, organization, actor: services.remove_member(
            person, organization, actor=actor
        ),
    )
    return Status(204, None)


@router.get("/organizations/{organization_id}/audit", response=list[AuditOut])
def audit(request: HttpRequest, organization_id: Id) -> list[object]:
    return list(selectors.audit_log(_admin_organization(request, organization_id)))

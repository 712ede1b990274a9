"""Invites API: links, redeeming them, join requests, members, the audit log, and the
personal invitations' status, SMS, slips and reissue.

The token travels only in request bodies (POST /preview, /redeem), never in a URL.
A new link's token is in the creation response once; it is not stored.
"""

from collections.abc import Callable
from dataclasses import asdict, fields
from datetime import datetime
from typing import Annotated

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status
from ninja.errors import HttpError

from parta.accounts.models import Person, Role
from parta.accounts.selectors import admin_organization
from parta.accounts.signin import client_ip
from parta.api_errors import AtMost, Id, signed_in_person
from parta.invites import delivery, invitation_status, selectors, services
from parta.invites.jobs import send_invitations_sms
from parta.invites.models import InviteLink, JoinRequest, PersonalInvitation
from parta.invites.slips import group_slips_response
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
    return list(
        selectors.pending_requests(admin_organization(signed_in_person(request), organization_id))
    )


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
    organization = admin_organization(signed_in_person(request), organization_id)
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
    organization = admin_organization(signed_in_person(request), organization_id)
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
    return list(selectors.audit_log(admin_organization(signed_in_person(request), organization_id)))


# --- personal invitations -----------------------------------------------------------------
# A class's status, its SMS and slips, a new code: for the school's admins and the class's
# teacher. No phone number and no code travels here; the slips PDF carries the codes.

# One request texts at most this many people; a class goes on the job queue instead.
MAX_SMS_IDS = 100


class InvitationStatusOut(Schema):
    id: int
    person_id: int
    full_name: str
    role: str
    child_id: int | None
    status: str  # joined, invited or expired
    joined_at: datetime | None
    expires_at: datetime
    has_phone: bool
    last_sms_at: datetime | None
    last_sms_status: str | None
    code_lost: bool  # sealed under an older SECRET_KEY: only a reissue helps


class ClassStatusOut(Schema):
    class_id: int
    name: str
    invited: int
    joined: int
    not_joined: int
    invitations: list[InvitationStatusOut]


class InvitationSmsIn(Schema):
    class_id: Id | None = None
    invitation_ids: Annotated[list[Id], AtMost(MAX_SMS_IDS)] = []


class InvitationSmsOut(Schema):
    queued: int
    sent: int
    skipped_no_phone: int
    skipped_today: int
    skipped_closed: int
    skipped_unreadable: int
    skipped_limit: int
    failed: int
    retry_after: int | None


def _row_out(row: invitation_status.InvitationRow) -> InvitationStatusOut:
    invitation, sms = row.invitation, row.last_sms
    return InvitationStatusOut(
        id=invitation.pk,
        person_id=invitation.person_id,
        full_name=invitation.person.full_name,
        role=invitation.role,
        child_id=invitation.child_id,
        status="joined" if row.joined else "expired" if row.expired else "invited",
        joined_at=invitation.used_at,
        expires_at=invitation.expires_at,
        has_phone=row.has_phone,
        last_sms_at=sms.sent_at if sms else None,
        last_sms_status=sms.status if sms else None,
        code_lost=row.unreadable,
    )


def _invitation_class(
    request: HttpRequest, organization_id: int, class_id: int
) -> tuple[Organization, SchoolClass]:
    organization = _organization(organization_id)
    school_class = get_object_or_404(
        SchoolClass, pk=class_id, organization=organization, is_staff_class=False
    )
    invitation_status.require_group(signed_in_person(request), organization, school_class)
    return organization, school_class


@router.get(
    "/organizations/{organization_id}/invitations/classes/{class_id}", response=ClassStatusOut
)
def invitation_class_status(
    request: HttpRequest, organization_id: Id, class_id: Id
) -> ClassStatusOut:
    organization, school_class = _invitation_class(request, organization_id, class_id)
    families = invitation_status.group_families(organization, school_class, timezone.now())
    rows = [_row_out(row) for family in families for row in family.rows]
    joined = sum(1 for row in rows if row.status == "joined")
    return ClassStatusOut(
        class_id=school_class.pk,
        name=school_class.name,
        invited=len(rows),
        joined=joined,
        not_joined=len(rows) - joined,
        invitations=rows,
    )


@router.get("/organizations/{organization_id}/invitations/classes/{class_id}/slips")
def invitation_class_slips(request: HttpRequest, organization_id: Id, class_id: Id) -> HttpResponse:
    """The PDF of the class's slips: only the invitations not used yet."""
    organization, school_class = _invitation_class(request, organization_id, class_id)
    return group_slips_response(organization, school_class)


@router.post(
    "/organizations/{organization_id}/invitations/sms",
    response={200: InvitationSmsOut, 202: InvitationSmsOut},
)
def send_invitation_sms(
    request: HttpRequest, organization_id: Id, payload: InvitationSmsIn
) -> Status[object]:
    """A class's not-joined people are queued (202); named invitations texted at once (200)."""
    if (payload.class_id is None) == (not payload.invitation_ids):
        raise HttpError(400, _("Укажите либо класс, либо приглашения."))
    if payload.class_id is not None:
        organization, school_class = _invitation_class(request, organization_id, payload.class_id)
        now = timezone.now()
        families = invitation_status.group_families(organization, school_class, now)
        to_text = [invitation.pk for invitation in invitation_status.to_text(families, now)]
        if to_text:
            send_invitations_sms(to_text, signed_in_person(request).pk)
        return Status(202, InvitationSmsOut(**{**_NO_SMS, "queued": len(to_text)}))
    organization = _organization(organization_id)
    invitations = list(
        invitation_status.with_related(
            PersonalInvitation.objects.filter(
                organization=organization, pk__in=payload.invitation_ids
            )
        )
    )
    if len(invitations) != len(set(payload.invitation_ids)):
        raise HttpError(404, _("Таких приглашений в этой организации нет."))
    report = delivery.send_invitation_sms(invitations, by=signed_in_person(request))
    return Status(200, InvitationSmsOut(**{**_NO_SMS, **asdict(report)}))


_NO_SMS = {field.name: 0 for field in fields(delivery.SmsReport)} | {"queued": 0}


@router.post("/invitations/{invitation_id}/reissue", response=InvitationStatusOut)
def reissue_invitation(request: HttpRequest, invitation_id: Id) -> InvitationStatusOut:
    """A new code for a lost slip; the old one stops working."""
    invitation = get_object_or_404(
        invitation_status.with_related(PersonalInvitation.objects.all()), pk=invitation_id
    )
    new = delivery.reissue_invitation(invitation, by=signed_in_person(request))
    return _row_out(
        invitation_status.InvitationRow(
            invitation=new, last_sms=None, unreadable=False, now=timezone.now()
        )
    )

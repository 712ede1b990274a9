"""Accounts API: phone sign-in (session), who am I, and the people of an organization.

The two sign-in calls need no session but do need Django's CSRF token (cookie + X-CSRFToken
header), like every other unsafe call: GET sign-in/csrf hands one out. This stops another
site from signing a visitor in under someone else's number.
"""

from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import get_object_or_404
from django.utils import timezone
from ninja import Router, Schema, Status
from ninja.errors import HttpError
from ninja.utils import check_csrf

from parta.accounts.models import Person
from parta.accounts.selectors import (
    current_memberships,
    organizations_visible_to,
    visible_grants,
)
from parta.accounts.signin import (
    SignInError,
    client_ip,
    request_code,
    start_session,
    verify_code,
)
from parta.api_errors import Id, signed_in_person

router = Router(tags=["accounts"])


class CodeRequestIn(Schema):
    phone: str


class CodeRequestOut(Schema):
    phone: str
    expires_at: str


class VerifyIn(Schema):
    phone: str
    code: str
    full_name: str = ""
    # A shared computer: the session ends when the browser closes («Чужой компьютер»).
    shared_computer: bool = False


class SignInErrorOut(Schema):
    code: str
    detail: str
    retry_after: int | None = None
    attempts_left: int | None = None


class CsrfOut(Schema):
    csrf_token: str


class OrganizationOut(Schema):
    id: int
    full_name: str
    short_name: str


class MembershipOut(Schema):
    organization: OrganizationOut
    roles: list[str]


class MeOut(Schema):
    id: int
    full_name: str
    phone: str | None
    is_staff: bool
    memberships: list[MembershipOut]


class MemberOut(Schema):
    """A person in an organization's people list: never a phone number (admins see phones
    in the members list of the invites API, the support desk in its own)."""

    id: int
    full_name: str
    roles: list[str]


def _refused(refused: SignInError) -> Status[SignInErrorOut]:
    status = 429 if refused.code == "rate_limited" else 400
    return Status(
        status,
        SignInErrorOut(
            code=refused.code,
            detail=refused.message,
            retry_after=refused.retry_after,
            attempts_left=refused.attempts_left,
        ),
    )


def _require_csrf(request: HttpRequest) -> None:
    forbidden: HttpResponse | None = check_csrf(request)
    if forbidden is not None:
        raise HttpError(403, "CSRF check failed")


@router.get("/sign-in/csrf", auth=None, response=CsrfOut)
def csrf_token(request: HttpRequest) -> CsrfOut:
    return CsrfOut(csrf_token=get_token(request))


@router.post(
    "/sign-in/request-code",
    auth=None,
    response={200: CodeRequestOut, 400: SignInErrorOut, 429: SignInErrorOut},
)
def sign_in_request_code(
    request: HttpRequest, payload: CodeRequestIn
) -> CodeRequestOut | Status[SignInErrorOut]:
    _require_csrf(request)
    try:
        sign_in_code = request_code(payload.phone, client_ip(request))
    except SignInError as refused:
        return _refused(refused)
    return CodeRequestOut(phone=sign_in_code.phone, expires_at=sign_in_code.expires_at.isoformat())


def _me(person: Person) -> MeOut:
    return MeOut(
        id=person.pk,
        full_name=person.full_name,
        phone=person.phone,
        is_staff=person.is_staff,
        memberships=[
            MembershipOut(
                organization=OrganizationOut(
                    id=organization.pk,
                    full_name=organization.full_name,
                    short_name=organization.short_name,
                ),
                roles=roles,
            )
            for organization, roles in current_memberships(person, timezone.now()).items()
        ],
    )


@router.post(
    "/sign-in/verify",
    auth=None,
    response={200: MeOut, 400: SignInErrorOut, 429: SignInErrorOut},
)
def sign_in_verify(request: HttpRequest, payload: VerifyIn) -> MeOut | Status[SignInErrorOut]:
    _require_csrf(request)
    try:
        person = verify_code(
            payload.phone, payload.code, client_ip(request), full_name=payload.full_name
        )
    except SignInError as refused:
        return _refused(refused)
    start_session(request, person, shared_computer=payload.shared_computer)
    return _me(person)


@router.get("/me", response=MeOut)
def me(request: HttpRequest) -> MeOut:
    return _me(signed_in_person(request))


@router.get("/organizations/{organization_id}/people", response=list[MemberOut])
def organization_people(request: HttpRequest, organization_id: Id) -> list[MemberOut]:
    """People holding a role in the organization now, as far as the caller may see them:
    a school's adults and operators see everyone; a parent sees the teachers and admins and
    their own children, a student the teachers and admins, their classmates and parents."""
    viewer = signed_in_person(request)
    now = timezone.now()
    # An organization the caller may not see answers 404, as if it did not exist.
    organization = get_object_or_404(organizations_visible_to(viewer, now), pk=organization_id)
    members: dict[int, MemberOut] = {}
    for grant in (
        visible_grants(viewer, organization, now)
        .select_related("person")
        .order_by("person__surname", "person__name", "person__patronymic", "person_id", "role")
    ):
        member = members.setdefault(
            grant.person_id,
            MemberOut(id=grant.person_id, full_name=grant.person.full_name, roles=[]),
        )
        member.roles.append(grant.role)
    return list(members.values())

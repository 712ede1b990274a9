"""Pages for joining by a personal invitation: /p/#CODE, the address on a slip's QR code.

Three screens: who is invited and the phone; the SMS code; «Это вы?» and «Присоединиться».
The code travels in the fragment, which browsers never send: the page's script posts it
(invites/join.js, as the link page does with its token), or a person without a camera
types it. After that the session keeps only the invitation's id, never the code. A browser
that is signed in already goes straight to the third screen.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from parta.accounts.forms import CodeForm, PhoneForm
from parta.accounts.models import Person, Role
from parta.accounts.signin import (
    SignInError,
    client_ip,
    masked_phone,
    start_session,
    verify_code,
)
from parta.accounts.views import render_phone_step, submit_phone
from parta.invites import services
from parta.invites.forms import InvitationCodeForm
from parta.invites.invitations import (
    InvitationUnavailable,
    InvitationUsed,
    invitation_by_code,
    usable_invitation,
)
from parta.invites.joining import check_redeemable, redeem_personal_invitation
from parta.invites.models import PersonalInvitation
from parta.invites.views import child_initials
from parta.web.auth import person_or_none, signed_in

_INVITATION_KEY = "parta_personal_invitation"
_PHONE_KEY = "parta_personal_phone"


def whom(invitation: PersonalInvitation) -> str:
    """«родитель ученика Иванов П., 5А»: the role as the slip's reader knows it."""
    class_name = invitation.school_class.display_name if invitation.school_class else ""
    if invitation.role == Role.PARENT and invitation.child is not None:
        said = {"child": child_initials(invitation.child), "class": class_name}
        if class_name:
            return _("родитель ученика %(child)s, %(class)s") % said
        return _("родитель ученика %(child)s") % said
    if invitation.role == Role.STUDENT and class_name:
        return _("ученик, %(class)s") % {"class": class_name}
    return str(Role(invitation.role).label)


def _context(invitation: PersonalInvitation, **more: object) -> dict[str, object]:
    return {"invitation": invitation, "whom": whom(invitation), **more}


def _session_invitation(request: HttpRequest) -> PersonalInvitation | None:
    invitation_id = request.session.get(_INVITATION_KEY)
    if invitation_id is None:
        return None
    try:
        return usable_invitation(int(invitation_id))
    except (InvitationUnavailable, InvitationUsed):
        request.session.pop(_INVITATION_KEY, None)
        return None


def _not_admitting(request: HttpRequest, refused: Exception) -> HttpResponse:
    """Used: said plainly, with «Войти» (410). Unknown, revoked or expired: one answer (404)."""
    request.session.pop(_INVITATION_KEY, None)
    request.session.pop(_PHONE_KEY, None)
    used = isinstance(refused, InvitationUsed)
    return render(
        request,
        "invites/personal_unavailable.html",
        {"message": str(refused), "used": used},
        status=410 if used else 404,
    )


def _rate_limited(
    request: HttpRequest, limited: services.RateLimited, form: InvitationCodeForm | None = None
) -> HttpResponse:
    """Too many codes tried from here: the code form again, saying when to retry (429)."""
    form = form or InvitationCodeForm()
    form.add_error("code", str(limited))
    response = render(request, "invites/personal_join.html", {"code_form": form}, status=429)
    response["Retry-After"] = str(limited.retry_after)
    return response


@never_cache
def personal_join(request: HttpRequest) -> HttpResponse:
    """GET: the invitation this browser presented (screen 1, or 3 when signed in), or the
    form for the code. POST: a code, from the QR's fragment or typed."""
    if request.method == "POST":
        form = InvitationCodeForm(request.POST)
        if not form.is_valid():
            return render(request, "invites/personal_join.html", {"code_form": form}, status=400)
        try:
            services.check_rate("personal", client_ip(request), person_or_none(request))
            invitation = invitation_by_code(form.cleaned_data["code"])
        except services.RateLimited as limited:
            return _rate_limited(request, limited, form)
        except (InvitationUnavailable, InvitationUsed) as refused:
            return _not_admitting(request, refused)
        request.session[_INVITATION_KEY] = invitation.pk
        request.session.pop(_PHONE_KEY, None)
        return redirect("invites:personal-join")
    shown = _session_invitation(request)
    if shown is None:
        return render(request, "invites/personal_join.html", {"code_form": InvitationCodeForm()})
    person = person_or_none(request)
    if person is not None:
        return _confirm_page(request, shown, person)
    return _phone_page(request, shown, PhoneForm())


def _phone_page(
    request: HttpRequest,
    invitation: PersonalInvitation,
    form: PhoneForm,
    retry_after: int | None = None,
) -> HttpResponse:
    """Screen 1: who is invited, and the phone to sign in with. The roster's number, if
    any, is a masked hint: the person may well use another."""
    roster_phone = invitation.person.phone
    context = _context(
        invitation,
        code_form=InvitationCodeForm(),
        phone_form=form,
        phone_hint=masked_phone(roster_phone) if roster_phone else "",
    )
    return render_phone_step(request, "invites/personal_join.html", context, retry_after)


def _confirm_page(
    request: HttpRequest, invitation: PersonalInvitation, person: Person
) -> HttpResponse:
    """Screen 3: «Это вы?» — or, for an account that may not take it, why not (400)."""
    try:
        check_redeemable(invitation, person)
    except ValidationError as refused:
        return _refused(request, refused)
    return render(
        request,
        "invites/personal_confirm.html",
        _context(
            invitation,
            code_form=InvitationCodeForm(),
            account=person,
            account_phone=masked_phone(person.phone) if person.phone else "",
            merging=person.pk != invitation.person_id,
        ),
    )


def _refused(request: HttpRequest, refused: ValidationError) -> HttpResponse:
    request.session.pop(_INVITATION_KEY, None)
    return render(
        request, "invites/personal_refused.html", {"messages_": refused.messages}, status=400
    )


@require_POST
def personal_join_phone(request: HttpRequest) -> HttpResponse:
    invitation = _session_invitation(request)
    if invitation is None:
        return _not_admitting(request, InvitationUnavailable())
    form = PhoneForm(request.POST)
    return submit_phone(
        request,
        form,
        phone_key=_PHONE_KEY,
        code_page="invites:personal-code",
        phone_page=lambda retry_after: _phone_page(request, invitation, form, retry_after),
    )


@never_cache
def personal_join_code(request: HttpRequest) -> HttpResponse:
    """Screen 2: the SMS code. A number without an account takes over the roster's record
    (verify_code's `claim`): no name to type, the school knows it."""
    invitation = _session_invitation(request)
    if invitation is None:
        return _not_admitting(request, InvitationUnavailable())
    phone = request.session.get(_PHONE_KEY)
    if not phone:
        return redirect("invites:personal-join")
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            person = verify_code(
                phone, form.cleaned_data["code"], client_ip(request), claim=invitation.person
            )
        except SignInError as refused:
            form.add_error("code", refused.message)
        else:
            request.session.pop(_PHONE_KEY, None)
            start_session(request, person, shared_computer=form.cleaned_data["shared_computer"])
            # login() keeps the session's data, but say it: the invitation stays with this browser.
            request.session[_INVITATION_KEY] = invitation.pk
            return redirect("invites:personal-join")
    return render(
        request,
        "invites/personal_code.html",
        _context(invitation, form=form, phone=phone),
        status=400 if form.errors else 200,
    )


@require_POST
@login_required
def personal_join_accept(request: HttpRequest) -> HttpResponse:
    person = signed_in(request)
    invitation = _session_invitation(request)
    if invitation is None:
        return _not_admitting(request, InvitationUnavailable())
    try:
        services.check_rate("personal", client_ip(request), person)
        redeem_personal_invitation(invitation.pk, person)
    except services.RateLimited as limited:
        return _rate_limited(request, limited)
    except (InvitationUnavailable, InvitationUsed) as refused:
        return _not_admitting(request, refused)
    except ValidationError as refused:
        return _refused(request, refused)
    request.session.pop(_INVITATION_KEY, None)
    messages.success(
        request,
        _(
            "Вы присоединились к «%(org)s». Беседы школы — ниже, приветствие — "
            "в «Парта · уведомления»."
        )
        % {"org": invitation.organization.full_name},
    )
    return redirect("messaging:list")

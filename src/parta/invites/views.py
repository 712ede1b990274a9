"""Pages for joining: the join page behind an invite link, links, requests, members, the audit.

The invite token reaches the server only in POST bodies: the link is /join/#<token>, and
the join page's few lines of script post the fragment. After that the session keeps only
the link's id, never the token.
"""

import segno
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from parta.accounts.forms import CodeForm, PhoneForm
from parta.accounts.models import Person, Role
from parta.accounts.selectors import (
    admin_organization,
    class_at,
    holds_role,
    role_history,
)
from parta.accounts.services import move_student
from parta.accounts.signin import (
    SignInError,
    client_ip,
    start_session,
    verify_code,
)
from parta.accounts.views import render_phone_step, submit_phone
from parta.invites import selectors, services, tokens
from parta.invites.forms import (
    InviteForm,
    JoinRequestForm,
    MoveForm,
    RejectForm,
    RoleForm,
    TokenForm,
)
from parta.invites.models import InviteLink, JoinRequest
from parta.structure.models import Organization, SchoolClass
from parta.structure.selectors import classes_of
from parta.web.auth import person_or_none, signed_in

_INVITE_KEY = "parta_join_invite"
_PHONE_KEY = "parta_join_phone"


# --- the join page --------------------------------------------------------------------------


def _unavailable(request: HttpRequest, message: str) -> HttpResponse:
    request.session.pop(_INVITE_KEY, None)
    return render(request, "invites/join_unavailable.html", {"message": message}, status=404)


def _session_invite(request: HttpRequest) -> InviteLink | None:
    link_id = request.session.get(_INVITE_KEY)
    if link_id is None:
        return None
    try:
        return services.usable_invite(int(link_id))
    except services.InviteUnavailable:
        request.session.pop(_INVITE_KEY, None)
        return None


@never_cache
def join(request: HttpRequest) -> HttpResponse:
    """GET shows the invite this browser presented (or a form); POST presents a token."""
    if request.method == "POST":
        form = TokenForm(request.POST)
        if not form.is_valid():
            return render(request, "invites/join.html", {"token_form": form})
        try:
            services.check_rate("redeem", client_ip(request), person_or_none(request))
            link = services.invite_by_token(form.cleaned_data["token"])
        except services.RateLimited as limited:
            return render(
                request, "invites/join_unavailable.html", {"message": str(limited)}, status=429
            )
        except services.InviteUnavailable as unavailable:
            return _unavailable(request, str(unavailable))
        request.session[_INVITE_KEY] = link.pk
        return redirect("invites:join")
    shown = _session_invite(request)
    return render(
        request,
        "invites/join.html",
        {
            "link": shown,
            "token_form": TokenForm(),
            "phone_form": PhoneForm(),
            "child_initials": child_initials(shown.child) if shown and shown.child else "",
        },
    )


def child_initials(child: Person) -> str:
    """«Иванов П.» — enough for a parent to recognize their child, little for anyone else."""
    return f"{child.surname} {child.name[:1]}." if child.name else child.surname


@require_POST
def join_phone(request: HttpRequest) -> HttpResponse:
    link = _session_invite(request)
    if link is None:
        return _unavailable(request, str(services.InviteUnavailable()))
    form = PhoneForm(request.POST)
    return submit_phone(
        request,
        form,
        phone_key=_PHONE_KEY,
        code_page="invites:join-code",
        phone_page=lambda retry_after: render_phone_step(
            request,
            "invites/join.html",
            {"link": link, "token_form": TokenForm(), "phone_form": form},
            retry_after,
        ),
    )


@never_cache
def join_code(request: HttpRequest) -> HttpResponse:
    link = _session_invite(request)
    phone = request.session.get(_PHONE_KEY)
    if link is None:
        return _unavailable(request, str(services.InviteUnavailable()))
    if not phone:
        return redirect("invites:join")
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            person = verify_code(
                phone,
                form.cleaned_data["code"],
                client_ip(request),
                full_name=form.cleaned_data["full_name"],
                with_valid_invite=True,
            )
        except SignInError as refused:
            name_problem = refused.code in {"name_required", "name_invalid"}
            form.add_error("full_name" if name_problem else "code", refused.message)
        else:
            request.session.pop(_PHONE_KEY, None)
            start_session(request, person, shared_computer=form.cleaned_data["shared_computer"])
            # login() keeps the session's data: the invite stays with this browser.
            request.session[_INVITE_KEY] = link.pk
            return redirect("invites:join")
    return render(request, "invites/join_code.html", {"link": link, "form": form, "phone": phone})


@require_POST
@login_required
def join_accept(request: HttpRequest) -> HttpResponse:
    person = signed_in(request)
    link = _session_invite(request)
    if link is None:
        return _unavailable(request, str(services.InviteUnavailable()))
    try:
        services.check_rate("redeem", client_ip(request), person)
        redemption = services.redeem_invite(link.pk, person)
    except services.RateLimited as limited:
        return render(
            request, "invites/join_unavailable.html", {"message": str(limited)}, status=429
        )
    except services.InviteUnavailable as unavailable:
        return _unavailable(request, str(unavailable))
    except ValidationError as refused:
        request.session.pop(_INVITE_KEY, None)
        return render(
            request,
            "invites/join_refused.html",
            {"link": link, "messages_": refused.messages},
            status=400,
        )
    request.session.pop(_INVITE_KEY, None)
    return render(request, "invites/join_done.html", {"redemption": redemption})


# --- the manager's hub and links --------------------------------------------------------


@login_required
def manage(request: HttpRequest) -> HttpResponse:
    organizations = selectors.organizations_managed_by(signed_in(request), timezone.now())
    if not organizations:
        raise PermissionDenied(
            _("Вы не администратор и не классный руководитель ни в одной организации.")
        )
    return render(request, "invites/manage.html", {"organizations": organizations})


def _organization(organization_id: int) -> Organization:
    return get_object_or_404(
        Organization.objects.select_related("district__region"), pk=organization_id
    )


def _invite_form(person: Person, organization: Organization, data: object = None) -> InviteForm:
    """The link form for this person: all roles and classes for admins, their classes' students
    for a class teacher; anyone else is refused."""
    now = timezone.now()
    if selectors.is_admin(person, organization, now):
        return InviteForm(data, classes=classes_of(organization))
    led = selectors.classes_led(person, organization, now)
    if not led:
        raise PermissionDenied(
            _("Ссылки-приглашения делают администраторы и классные руководители.")
        )
    return InviteForm(
        data,
        classes=SchoolClass.objects.filter(pk__in=[c.pk for c in led]),
        roles=[(Role.STUDENT.value, Role.STUDENT.label)],
    )


def _links_page(
    request: HttpRequest, organization: Organization, form: InviteForm, status: int = 200
) -> HttpResponse:
    person = signed_in(request)
    now = timezone.now()
    return render(
        request,
        "invites/links.html",
        {
            "organization": organization,
            "form": form,
            "links": selectors.links_visible_to(person, organization, now),
            "now": now,
            "is_admin": selectors.is_admin(person, organization, now),
        },
        status=status,
    )


@login_required
def links(request: HttpRequest, organization_id: int) -> HttpResponse:
    organization = _organization(organization_id)
    return _links_page(request, organization, _invite_form(signed_in(request), organization))


# A new link's token is shown once, on a GET after the POST that made it (a reload makes
# no second link). The session is a database row, so it keeps only the link's id; the
# token waits in a cookie that only the showing page receives, signed for this session.
_TO_SHOW_KEY = "parta_invites_to_show"
_TOKEN_COOKIE = "parta_new_invite"  # noqa: S105 (a cookie's name)
_TOKEN_COOKIE_SECONDS = 10 * 60


def _token_cookie_salt(request: HttpRequest, link_id: int) -> str:
    return f"parta.invites.new.{link_id}.{request.session.session_key}"


def _created(request: HttpRequest, new: services.NewInvite) -> HttpResponse:
    """The link is made: remember it for this browser and go to the page that shows it."""
    to_show = [pk for pk in request.session.get(_TO_SHOW_KEY, []) if pk != new.link.pk]
    request.session[_TO_SHOW_KEY] = [*to_show, new.link.pk][-10:]
    if request.session.session_key is None:
        request.session.save()
    response = redirect("invites:link-created", link_id=new.link.pk)
    response.set_signed_cookie(
        _TOKEN_COOKIE,
        new.token,
        salt=_token_cookie_salt(request, new.link.pk),
        max_age=_TOKEN_COOKIE_SECONDS,
        path=reverse("invites:link-created", args=[new.link.pk]),
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Strict",
    )
    return response


def _token_to_show(request: HttpRequest, link: InviteLink) -> str | None:
    """The new link's token, the first time this browser's session asks; None after that."""
    to_show: list[int] = request.session.get(_TO_SHOW_KEY, [])
    if link.pk not in to_show:
        return None
    request.session[_TO_SHOW_KEY] = [pk for pk in to_show if pk != link.pk]
    token = request.get_signed_cookie(
        _TOKEN_COOKIE,
        default=None,
        salt=_token_cookie_salt(request, link.pk),
        max_age=_TOKEN_COOKIE_SECONDS,
    )
    if token is None or not constant_time_compare(tokens.token_hash(token), link.token_hash):
        return None
    return str(token)


@require_GET
@login_required
def link_created(request: HttpRequest, link_id: int) -> HttpResponse:
    link = get_object_or_404(
        InviteLink.objects.select_related("organization__district__region", "school_class"),
        pk=link_id,
    )
    if not selectors.may_manage_link(signed_in(request), link, timezone.now()):
        raise PermissionDenied(_("Эту ссылку вам смотреть нельзя."))
    token = _token_to_show(request, link)
    if token is None:
        # Reloaded, opened again or in another browser: the token is gone for good.
        response = render(request, "invites/link_shown.html", {"link": link}, status=410)
    else:
        url = request.build_absolute_uri(tokens.join_path(token))
        response = render(
            request,
            "invites/link_created.html",
            {
                "organization": link.organization,
                "link": link,
                "url": url,
                "qr_svg": segno.make(url, error="m").svg_inline(
                    scale=4, title=_("QR-код приглашения")
                ),
            },
        )
    response.delete_cookie(
        _TOKEN_COOKIE, path=reverse("invites:link-created", args=[link.pk]), samesite="Strict"
    )
    # Shown once: no cache may keep the page with the token.
    response["Cache-Control"] = "no-store"
    return response


@require_POST
@login_required
def link_create(request: HttpRequest, organization_id: int) -> HttpResponse:
    organization = _organization(organization_id)
    person = signed_in(request)
    child = None
    if request.POST.get("child"):
        child = get_object_or_404(Person, pk=request.POST["child"])
        try:
            new = services.create_invite(organization, Role.PARENT, actor=person, child=child)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
            return redirect("invites:member", organization_id=organization.pk, person_id=child.pk)
        return _created(request, new)
    form = _invite_form(person, organization, request.POST)
    if form.is_valid():
        try:
            new = services.create_invite(
                organization,
                form.cleaned_data["role"],
                actor=person,
                school_class=form.cleaned_data["school_class"],
                expires_in_days=form.cleaned_data["expires_in_days"],
                max_uses=form.cleaned_data["max_uses"],
                needs_approval=form.approval(),
            )
        except ValidationError as error:
            for message in error.messages:
                form.add_error(None, message)
        else:
            return _created(request, new)
    return _links_page(request, organization, form, status=400)


@login_required
def link_detail(request: HttpRequest, link_id: int) -> HttpResponse:
    link = get_object_or_404(
        InviteLink.objects.select_related("organization", "school_class", "child", "created_by"),
        pk=link_id,
    )
    if not selectors.may_manage_link(signed_in(request), link, timezone.now()):
        raise PermissionDenied(_("Эту ссылку вам смотреть нельзя."))
    return render(
        request,
        "invites/link_detail.html",
        {
            "organization": link.organization,
            "link": link,
            "redemptions": link.redemptions.select_related("person", "join_request"),
            "now": timezone.now(),
        },
    )


@require_POST
@login_required
def link_revoke(request: HttpRequest, link_id: int) -> HttpResponse:
    link = get_object_or_404(InviteLink.objects.select_related("organization"), pk=link_id)
    services.revoke_invite(link, actor=signed_in(request))
    messages.success(request, _("Ссылка отозвана: по ней больше нельзя присоединиться."))
    return redirect("invites:links", organization_id=link.organization_id)


# --- join requests ------------------------------------------------------------------------


@login_required
def request_start(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()
    needle = query.casefold()
    # Matched in Python: SQLite's LIKE folds the case of Latin letters only, not Cyrillic.
    found = (
        [
            organization
            for organization in Organization.objects.select_related("district")
            if needle in organization.full_name.casefold()
            or needle in organization.short_name.casefold()
            or needle == organization.inn
        ][:30]
        if len(needle) >= 3
        else []
    )
    return render(request, "invites/request_start.html", {"query": query, "found": found})


@login_required
def request_new(request: HttpRequest, organization_id: int) -> HttpResponse:
    organization = _organization(organization_id)
    classes = classes_of(organization)
    form = JoinRequestForm(request.POST or None, classes=classes)
    if request.method == "POST" and form.is_valid():
        try:
            services.check_rate("request", client_ip(request), signed_in(request))
            services.request_to_join(
                signed_in(request),
                organization,
                form.cleaned_data["role"],
                school_class=form.cleaned_data["school_class"],
                message=form.cleaned_data["message"],
            )
        except services.RateLimited as limited:
            form.add_error(None, str(limited))
        except ValidationError as error:
            for message in error.messages:
                form.add_error(None, message)
        else:
            messages.success(request, _("Заявка отправлена. Решение появится на этой странице."))
            return redirect("invites:my-requests")
    return render(request, "invites/request_new.html", {"organization": organization, "form": form})


@login_required
def my_requests(request: HttpRequest) -> HttpResponse:
    return render(
        request, "invites/my_requests.html", {"requests": selectors.requests_of(signed_in(request))}
    )


@login_required
def requests(request: HttpRequest, organization_id: int) -> HttpResponse:
    organization = admin_organization(signed_in(request), organization_id)
    return render(
        request,
        "invites/requests.html",
        {
            "organization": organization,
            "pending": selectors.pending_requests(organization),
            "decided": JoinRequest.objects.filter(organization=organization)
            .exclude(status=JoinRequest.Status.PENDING)
            .select_related("person", "decided_by")[:50],
            "reject_form": RejectForm(),
        },
    )


def _approved(join_request: JoinRequest) -> str:
    """What the admin is told: who got which role, and in which class."""
    said = {"person": join_request.person, "role": join_request.get_role_display()}
    if join_request.school_class is None:
        return _("Заявка одобрена: %(person)s получил(а) роль «%(role)s».") % said
    return _("Заявка одобрена: %(person)s получил(а) роль «%(role)s», класс — %(class)s.") % {
        **said,
        "class": join_request.school_class.display_name,
    }


@require_POST
@login_required
def request_decide(request: HttpRequest, request_id: int) -> HttpResponse:
    join_request = get_object_or_404(
        JoinRequest.objects.select_related("organization", "person", "school_class"), pk=request_id
    )
    actor = signed_in(request)
    try:
        if request.POST.get("decision") == "approve":
            services.approve_request(join_request, actor=actor)
            messages.success(request, _approved(join_request))
        else:
            services.reject_request(
                join_request, actor=actor, reason=request.POST.get("reason", "")
            )
            messages.success(request, _("Заявка отклонена."))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    return redirect("invites:requests", organization_id=join_request.organization_id)


# --- members and the audit ----------------------------------------------------------------


@login_required
def members(request: HttpRequest, organization_id: int) -> HttpResponse:
    organization = admin_organization(signed_in(request), organization_id)
    role = request.GET.get("role", "")
    role = role if role in Role.values else ""
    school_class = None
    if request.GET.get("class", "").isdigit():
        school_class = SchoolClass.objects.filter(
            organization=organization, pk=request.GET["class"]
        ).first()
    query = request.GET.get("q", "")
    return render(
        request,
        "invites/members.html",
        {
            "organization": organization,
            "members": selectors.members_of(
                organization, timezone.now(), role=role, school_class=school_class, query=query
            ),
            "roles": Role.choices,
            "classes": classes_of(organization),
            "role": role,
            "school_class": school_class,
            "query": query,
        },
    )


@login_required
def member(request: HttpRequest, organization_id: int, person_id: int) -> HttpResponse:
    organization = _organization(organization_id)
    person = get_object_or_404(Person, pk=person_id)
    actor = signed_in(request)
    now = timezone.now()
    current_class = class_at(person, now)
    admin = selectors.is_admin(actor, organization, now)
    # A class teacher opens their students' profiles to make parent links.
    teacher_of_child = current_class is not None and selectors.leads_class(
        actor, current_class, now
    )
    if not (admin or teacher_of_child):
        raise PermissionDenied(
            _("Профиль участника видят администраторы организации и классный руководитель.")
        )
    if request.method == "POST" and admin:
        action = request.POST.get("action")
        try:
            if action in ("add_role", "remove_role"):
                form = RoleForm(request.POST)
                if not form.is_valid():
                    raise ValidationError(form.errors["role"].as_data())
                change = services.add_role if action == "add_role" else services.remove_role
                change(person, organization, form.cleaned_data["role"], actor=actor)
            elif action == "remove":
                services.remove_member(person, organization, actor=actor)
            elif action == "move":
                move = MoveForm(request.POST, classes=classes_of(organization))
                if move.is_valid():
                    move_student(person, move.cleaned_data["school_class"], actor=actor)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, _("Сохранено."))
        return redirect("invites:member", organization_id=organization.pk, person_id=person.pk)
    roles_now = [role for role in Role.values if holds_role(person, organization, role, now)]
    return render(
        request,
        "invites/member.html",
        {
            "organization": organization,
            "person": person,
            "is_admin": admin,
            "roles_now": [(role, Role(role).label) for role in roles_now],
            "history": role_history(person, organization),
            "current_class": current_class,
            "is_student": Role.STUDENT in roles_now,
            "role_form": RoleForm(),
            "move_form": MoveForm(classes=classes_of(organization).filter(is_staff_class=False)),
        },
    )


@login_required
def audit(request: HttpRequest, organization_id: int) -> HttpResponse:
    organization = admin_organization(signed_in(request), organization_id)
    return render(
        request,
        "invites/audit.html",
        {"organization": organization, "entries": selectors.audit_log(organization)},
    )

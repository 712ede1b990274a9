"""The Help section («Помощь») and the operator's support desk."""

from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from parta.accounts.models import Person
from parta.structure.models import Organization
from parta.support import selectors, services
from parta.support.forms import AdminChangeForm, RejectForm
from parta.support.models import AdminChangeDocument, AdminChangeRequest
from parta.web.auth import signed_in


def _refusal_text(error: ValidationError | PermissionDenied) -> str:
    return " ".join(error.messages) if isinstance(error, ValidationError) else str(error)


def help_page(request: HttpRequest) -> HttpResponse:
    """Short instructions for everyone; for a signed-in school member, the request form links
    and the school's requests with their status."""
    now = timezone.now()
    context: dict[str, object] = {}
    if isinstance(request.user, Person):
        context["organizations"] = selectors.filing_organizations(request.user, now)
        context["requests"] = selectors.requests_seen_by(request.user, now)
    return render(request, "support/help.html", context)


@login_required
def file_request(request: HttpRequest, organization_id: int) -> HttpResponse:
    person = signed_in(request)
    now = timezone.now()
    organization = get_object_or_404(Organization, pk=organization_id)
    if not selectors.may_file(person, organization, now):
        raise PermissionDenied(
            _("Заявку подаёт администратор или учитель организации «%(org)s».")
            % {"org": organization}
        )
    admins = selectors.current_admins(organization, now)
    max_mb = round(settings.PARTA_SUPPORT_UPLOAD_MAX_BYTES / 1_048_576, 1)
    if request.method == "POST":
        form = AdminChangeForm(request.POST, request.FILES, admins=admins, max_mb=max_mb)
        if form.is_valid():
            try:
                change = services.file_request(
                    person,
                    organization,
                    full_name=form.cleaned_data["full_name"],
                    phone=form.cleaned_data["phone"],
                    letter=form.cleaned_data["letter"],
                    order=form.cleaned_data["order"],
                    admins_to_remove=list(form.cleaned_data["admins_to_remove"]),
                )
            except (ValidationError, PermissionDenied) as refused:
                form.add_error(None, _refusal_text(refused))
            else:
                messages.success(
                    request,
                    _("Заявка №%(pk)s отправлена в службу поддержки.") % {"pk": change.pk},
                )
                return redirect("support:request", pk=change.pk)
    else:
        form = AdminChangeForm(
            initial={"admins_to_remove": selectors.default_admins_to_remove(organization, now)},
            admins=admins,
            max_mb=max_mb,
        )
    return render(request, "support/request_new.html", {"form": form, "organization": organization})


def _visible_request(request: HttpRequest, pk: int) -> AdminChangeRequest:
    change = get_object_or_404(
        AdminChangeRequest.objects.select_related(
            "organization__district__region", "filed_by", "taken_by", "decided_by"
        ),
        pk=pk,
    )
    if not selectors.may_see_request(signed_in(request), change, timezone.now()):
        raise Http404  # someone else's request: not even its existence is told
    return change


@login_required
def request_detail(request: HttpRequest, pk: int) -> HttpResponse:
    person = signed_in(request)
    change = _visible_request(request, pk)
    now = timezone.now()
    operator = selectors.is_operator(person)
    context = {
        "change": change,
        "documents": (
            change.documents.all() if selectors.may_view_documents(person, change, now) else []
        ),
        "admins_to_remove": change.admins_to_remove.all(),
        "operator": operator,
        "reject_form": RejectForm(),
    }
    if operator:
        context["known_person"] = selectors.person_with_phone(change.new_admin_phone)
        context["current_admins"] = selectors.current_admins(change.organization, now)
    return render(request, "support/request_detail.html", context)


@login_required
def document(request: HttpRequest, pk: int) -> HttpResponse | FileResponse:
    row = get_object_or_404(
        AdminChangeDocument.objects.select_related("request__organization"), pk=pk
    )
    services.open_document(row, viewer=signed_in(request))
    response = FileResponse(
        row.file.open("rb"),
        content_type=row.content_type,
        as_attachment=row.content_type == "application/pdf",
        filename=f"{row.kind}-{row.request_id}{row.extension}",
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
def desk(request: HttpRequest) -> HttpResponse:
    if not selectors.is_operator(signed_in(request)):
        raise PermissionDenied(_("Это страница службы поддержки оператора."))
    return render(
        request,
        "support/desk.html",
        {"queue": selectors.queue(), "decided": selectors.recently_decided()},
    )


def _decision(
    request: HttpRequest, pk: int, decide: Callable[[AdminChangeRequest, Person], None]
) -> HttpResponse:
    operator = signed_in(request)
    change = get_object_or_404(AdminChangeRequest, pk=pk)
    try:
        decide(change, operator)
    except ValidationError as refused:
        messages.error(request, _refusal_text(refused))
    return redirect("support:request", pk=pk)


@login_required
@require_POST
def take(request: HttpRequest, pk: int) -> HttpResponse:
    def decide(change: AdminChangeRequest, operator: Person) -> None:
        services.take_request(change, operator=operator)

    return _decision(request, pk, decide)


@login_required
@require_POST
def approve(request: HttpRequest, pk: int) -> HttpResponse:
    def decide(change: AdminChangeRequest, operator: Person) -> None:
        services.approve_request(change, operator=operator)
        messages.success(request, _("Заявка №%(pk)s одобрена.") % {"pk": pk})

    return _decision(request, pk, decide)


@login_required
@require_POST
def reject(request: HttpRequest, pk: int) -> HttpResponse:
    form = RejectForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""

    def decide(change: AdminChangeRequest, operator: Person) -> None:
        services.reject_request(change, operator=operator, reason=reason)
        messages.success(request, _("Заявка №%(pk)s отклонена.") % {"pk": pk})

    return _decision(request, pk, decide)

"""The admin's pages for a school's list of people: upload, preview, confirm."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from parta.accounts.selectors import admin_organization, require_admin
from parta.roster import services
from parta.roster.models import RosterImport
from parta.web.auth import signed_in

# The preview lists at most this many new people: a school's 1,750 would be a long page.
PREVIEW_PEOPLE = 100


@login_required
def upload(request: HttpRequest, organization_id: int) -> HttpResponse:
    organization = admin_organization(signed_in(request), organization_id)
    error = None
    if request.method == "POST":
        file = request.FILES.get("file")
        if file is None:
            error = _("Выберите файл со списком.")
        else:
            try:
                roster_import = services.upload_roster(
                    organization,
                    file.name or "",
                    file.read(),
                    by=signed_in(request),
                    create_classes=request.POST.get("create_classes") == "on",
                )
            except ValidationError as refused:
                error = " ".join(refused.messages)
            else:
                return redirect("roster:preview", roster_import.pk)
    imports = RosterImport.objects.filter(organization=organization).select_related("uploaded_by")[
        :20
    ]
    return render(
        request,
        "roster/upload.html",
        {"organization": organization, "error": error, "imports": imports},
        status=400 if error else 200,
    )


def _roster_import(request: HttpRequest, import_id: int) -> RosterImport:
    roster_import = get_object_or_404(
        RosterImport.objects.select_related("organization__district__region"), pk=import_id
    )
    require_admin(signed_in(request), roster_import.organization)
    return roster_import


@login_required
def preview(request: HttpRequest, import_id: int) -> HttpResponse:
    roster_import = _roster_import(request, import_id)
    plan = services.preview(roster_import)
    earlier = (
        RosterImport.objects.filter(
            organization=roster_import.organization,
            sha256=roster_import.sha256,
            status=RosterImport.Status.CONFIRMED,
        )
        .exclude(pk=roster_import.pk)
        .first()
    )
    return render(
        request,
        "roster/preview.html",
        {
            "organization": roster_import.organization,
            "roster_import": roster_import,
            "plan": plan,
            "summary": plan.summary(),
            "new_people": plan.new_people[:PREVIEW_PEOPLE],
            "earlier": earlier,
        },
    )


@login_required
@require_POST
def confirm(request: HttpRequest, import_id: int) -> HttpResponse:
    roster_import = _roster_import(request, import_id)
    try:
        services.confirm_roster(
            roster_import, by=signed_in(request), digest=request.POST.get("digest", "")
        )
    except ValidationError as refused:
        messages.error(request, " ".join(refused.messages))
    else:
        messages.success(request, _("Список загружен. Теперь раздайте приглашения."))
        return redirect("invites:invitations", roster_import.organization_id)
    return redirect("roster:preview", roster_import.pk)

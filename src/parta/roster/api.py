"""Roster API (/api/roster/): upload a school's list, read its preview, confirm it. Admins only."""

from typing import Any

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import File, Form, Router, Schema, Status
from ninja.files import UploadedFile

from parta.accounts.selectors import admin_organization, require_admin
from parta.api_errors import Id, signed_in_person
from parta.roster import services
from parta.roster.models import RosterImport

router = Router(tags=["roster"])


class BadRowOut(Schema):
    number: int
    reason: str
    text: str


class RosterImportOut(Schema):
    id: int
    file_name: str
    sha256: str
    status: str
    summary: dict[str, int]
    bad_rows: list[BadRowOut]
    digest: str  # what POST …/confirm takes: the plan shown here, and no other


class ConfirmIn(Schema):
    digest: str


def _out(roster_import: RosterImport) -> dict[str, Any]:
    plan = services.preview(roster_import)
    return {
        "id": roster_import.pk,
        "file_name": roster_import.file_name,
        "sha256": roster_import.sha256,
        "status": roster_import.status,
        "summary": roster_import.summary or plan.summary(),
        "bad_rows": plan.bad_rows,
        "digest": plan.digest(),
    }


def _roster_import(request: HttpRequest, import_id: int) -> RosterImport:
    roster_import = get_object_or_404(
        RosterImport.objects.select_related("organization__district__region"), pk=import_id
    )
    require_admin(signed_in_person(request), roster_import.organization)
    return roster_import


@router.post("/organizations/{organization_id}/imports", response={201: RosterImportOut})
def upload(
    request: HttpRequest,
    organization_id: Id,
    file: File[UploadedFile],
    create_classes: Form[bool] = False,
) -> Any:
    """Upload an XLSX or CSV; the answer is the preview. Nothing is written but the file."""
    person = signed_in_person(request)
    roster_import = services.upload_roster(
        admin_organization(person, organization_id),
        file.name or "",
        file.read(),
        by=person,
        create_classes=create_classes,
    )
    return Status(201, _out(roster_import))


@router.get("/imports/{import_id}", response=RosterImportOut)
def get_import(request: HttpRequest, import_id: Id) -> Any:
    """The preview as of now (or, once confirmed, what the confirmation did)."""
    return _out(_roster_import(request, import_id))


@router.post("/imports/{import_id}/confirm", response=RosterImportOut)
def confirm(request: HttpRequest, import_id: Id, payload: ConfirmIn) -> Any:
    """Apply the previewed plan in one transaction; 400 with bad rows or a changed plan."""
    roster_import = services.confirm_roster(
        _roster_import(request, import_id), by=signed_in_person(request), digest=payload.digest
    )
    return _out(roster_import)

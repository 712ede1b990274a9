"""Support API: admin-change requests filed by a school and worked by the operator's desk."""

from datetime import datetime

from django.http import FileResponse, HttpRequest
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, File, Form, Router, Schema, Status
from ninja.errors import HttpError
from ninja.files import UploadedFile

from parta.accounts.models import Person
from parta.api_errors import MAX_ID, Id, signed_in_person
from parta.structure.models import Organization
from parta.support import selectors, services
from parta.support.models import AdminChangeDocument, AdminChangeRequest

router = Router(tags=["support"])


class DocumentOut(Schema):
    id: int
    kind: str
    content_type: str
    size: int
    url: str


class AdminChangeRequestOut(Schema):
    id: int
    organization_id: int
    organization: str
    filed_by_id: int
    filed_by: str
    filed_at: datetime
    new_admin_full_name: str
    new_admin_phone: str
    admins_to_remove: list[int]
    status: str
    status_label: str
    reason: str
    taken_by_id: int | None
    decided_by_id: int | None
    decided_at: datetime | None
    documents: list[DocumentOut] = Field(
        description="Only for operators and the school's admins; empty for others."
    )


class AdminChangeRequestIn(Schema):
    full_name: str
    phone: str
    remove_admin_ids: str | None = Field(
        None,
        description=(
            "Comma-separated ids of current admins whose role the approval closes. "
            "Absent: every current admin but the head. Empty: none."
        ),
    )


class AdminChangeRejectIn(Schema):
    reason: str


def _out(change: AdminChangeRequest, viewer: Person) -> AdminChangeRequestOut:
    documents = (
        [
            DocumentOut(
                id=document.pk,
                kind=document.kind,
                content_type=document.content_type,
                size=document.size,
                url=reverse("api:support_document", kwargs={"document_id": document.pk}),
            )
            for document in change.documents.all()
        ]
        if selectors.may_view_documents(viewer, change, timezone.now())
        else []
    )
    return AdminChangeRequestOut(
        id=change.pk,
        organization_id=change.organization_id,
        organization=str(change.organization),
        filed_by_id=change.filed_by_id,
        filed_by=str(change.filed_by),
        filed_at=change.filed_at,
        new_admin_full_name=change.new_admin_full_name,
        new_admin_phone=change.new_admin_phone,
        admins_to_remove=sorted(person.pk for person in change.admins_to_remove.all()),
        status=change.status,
        status_label=str(change.get_status_display()),
        reason=change.reason,
        taken_by_id=change.taken_by_id,
        decided_by_id=change.decided_by_id,
        decided_at=change.decided_at,
        documents=documents,
    )


def _chosen_admins(ids: str | None) -> list[Person] | None:
    if ids is None:
        return None
    try:
        wanted = {int(part) for part in ids.split(",") if part.strip()}
    except ValueError:
        raise HttpError(400, _("remove_admin_ids: перечислите числа через запятую.")) from None
    # An id out of the database's range is nobody's (and must not reach the query).
    people = list(Person.objects.filter(pk__in=[pk for pk in wanted if 0 < pk <= MAX_ID]))
    if len(people) != len(wanted):
        raise HttpError(400, _("Среди снимаемых администраторов есть несуществующий человек."))
    return people


@router.post(
    "/organizations/{organization_id}/admin-change-requests", response={201: AdminChangeRequestOut}
)
def file_request(
    request: HttpRequest,
    organization_id: Id,
    payload: Form[AdminChangeRequestIn],
    letter: File[UploadedFile | None] = None,
    order: File[UploadedFile | None] = None,
) -> Status[AdminChangeRequestOut]:
    """File a request with the official letter and the head's order (multipart)."""
    organization = get_object_or_404(Organization, pk=organization_id)
    actor = signed_in_person(request)
    change = services.file_request(
        actor,
        organization,
        full_name=payload.full_name,
        phone=payload.phone,
        letter=letter,
        order=order,
        admins_to_remove=_chosen_admins(payload.remove_admin_ids),
    )
    return Status(201, _out(change, actor))


@router.get("/admin-change-requests", response=list[AdminChangeRequestOut])
def my_requests(request: HttpRequest) -> list[AdminChangeRequestOut]:
    """Requests the person filed and those of the schools they administer, with status."""
    actor = signed_in_person(request)
    return [_out(change, actor) for change in selectors.requests_seen_by(actor, timezone.now())]


def _visible(request: HttpRequest, request_id: int) -> AdminChangeRequest:
    change = get_object_or_404(
        AdminChangeRequest.objects.select_related("organization", "filed_by"), pk=request_id
    )
    if not selectors.may_see_request(signed_in_person(request), change, timezone.now()):
        raise HttpError(404, _("Заявка не найдена."))
    return change


@router.get("/admin-change-requests/{request_id}", response=AdminChangeRequestOut)
def request_detail(request: HttpRequest, request_id: Id) -> AdminChangeRequestOut:
    return _out(_visible(request, request_id), signed_in_person(request))


@router.get("/documents/{document_id}", url_name="support_document")
def document(request: HttpRequest, document_id: Id) -> FileResponse:
    """The document's bytes; each reading is logged."""
    row = get_object_or_404(
        AdminChangeDocument.objects.select_related("request__organization"), pk=document_id
    )
    services.open_document(row, viewer=signed_in_person(request))
    response = FileResponse(
        row.file.open("rb"),
        content_type=row.content_type,
        as_attachment=True,
        filename=f"{row.kind}-{row.request_id}{row.extension}",
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


# --- the operator's desk ------------------------------------------------------------------


@router.get("/desk/queue", response=list[AdminChangeRequestOut])
def desk_queue(request: HttpRequest) -> list[AdminChangeRequestOut]:
    actor = signed_in_person(request)
    if not selectors.is_operator(actor):
        raise HttpError(403, _("Это очередь службы поддержки оператора."))
    return [_out(change, actor) for change in selectors.queue()]


def _open(request_id: int) -> AdminChangeRequest:
    return get_object_or_404(AdminChangeRequest, pk=request_id)


@router.post("/desk/{request_id}/take", response=AdminChangeRequestOut)
def take(request: HttpRequest, request_id: Id) -> AdminChangeRequestOut:
    change = services.take_request(_open(request_id), operator=signed_in_person(request))
    return _out(change, signed_in_person(request))


@router.post("/desk/{request_id}/approve", response=AdminChangeRequestOut)
def approve(request: HttpRequest, request_id: Id) -> AdminChangeRequestOut:
    change = services.approve_request(_open(request_id), operator=signed_in_person(request))
    return _out(change, signed_in_person(request))


@router.post("/desk/{request_id}/reject", response=AdminChangeRequestOut)
def reject(
    request: HttpRequest, request_id: Id, payload: AdminChangeRejectIn
) -> AdminChangeRequestOut:
    change = services.reject_request(
        _open(request_id), operator=signed_in_person(request), reason=payload.reason
    )
    return _out(change, signed_in_person(request))

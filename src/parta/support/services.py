"""Admin-change requests: filing, the desk's work on them, and reading their documents.

Approval is one transaction: the admin roles the request names are closed (history kept),
the organization's application phone becomes the new admin's, and a person who already has
that phone becomes admin at once. Anyone else gets the role on first sign-in with the phone
(parta.accounts.signin grants it to whoever signs in with an application phone).
"""

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.translation import gettext as _

from parta import filetypes
from parta.accounts.models import Person, Role
from parta.accounts.phones import normalize_phone
from parta.accounts.selectors import holds_role
from parta.accounts.services import grant_role, record_audit, revoke_role
from parta.accounts.signin import masked_phone
from parta.structure.models import Organization
from parta.support import selectors
from parta.support.models import AdminChangeDocument, AdminChangeRequest

logger = logging.getLogger("parta.support")

# Scans of a signed letter and order: a PDF or a photo.
ACCEPTED_TYPES = (filetypes.PDF, filetypes.JPEG, filetypes.PNG)


@dataclass(frozen=True)
class CheckedDocument:
    kind: str
    content: bytes
    file_type: filetypes.FileType
    original_name: str


def _document_error(kind: str, message: str, code: str) -> ValidationError:
    label = AdminChangeDocument.Kind(kind).label
    return ValidationError(
        _("%(document)s: %(problem)s") % {"document": label.capitalize(), "problem": message},
        code=code,
    )


def check_document(kind: str, upload: UploadedFile | None) -> CheckedDocument:
    """Read and check one upload by its size and its bytes (never its name or stated type)."""
    if upload is None:
        raise _document_error(kind, _("приложите файл (PDF, JPEG или PNG)."), "missing")
    limit = settings.PARTA_SUPPORT_UPLOAD_MAX_BYTES
    too_large = _document_error(
        kind,
        _("файл больше %(limit)s. Отсканируйте с меньшим разрешением или сожмите PDF.")
        % {"limit": filesizeformat(limit)},
        "too_large",
    )
    if (upload.size or 0) > limit:
        raise too_large
    upload.seek(0)
    content = upload.read(limit + 1)
    if len(content) > limit:
        raise too_large
    if not content:
        raise _document_error(kind, _("файл пустой."), "empty")
    file_type = filetypes.sniff(content)
    if file_type is None or file_type not in ACCEPTED_TYPES:
        raise _document_error(
            kind,
            _("это не PDF и не изображение JPEG или PNG. Приложите скан или фото документа."),
            "type_not_allowed",
        )
    if file_type.is_image:
        try:
            filetypes.image_size(content, file_type)
        except filetypes.ImageUnreadable:
            raise _document_error(
                kind, _("изображение повреждено или не читается."), "broken_image"
            ) from None
    return CheckedDocument(kind, content, file_type, (upload.name or "file")[-255:])


def _clean_full_name(full_name: str) -> str:
    cleaned = " ".join(full_name.split())
    surname, name, _patronymic = Person.split_full_name(cleaned)
    if not surname or not name:
        raise ValidationError(
            _("Укажите фамилию, имя и отчество нового администратора, как в письме."),
            code="name_required",
        )
    if len(cleaned) > 300:
        raise ValidationError(_("ФИО длиннее 300 знаков."), code="name_too_long")
    return cleaned


def _admins_to_remove(
    organization: Organization, chosen: Iterable[Person] | None, new_phone: str, now: datetime
) -> list[Person]:
    current = list(selectors.current_admins(organization, now))
    if chosen is None:
        people = selectors.default_admins_to_remove(organization, now)
    else:
        people = list(chosen)
        current_ids = {admin.pk for admin in current}
        strangers = [person for person in people if person.pk not in current_ids]
        if strangers:
            raise ValidationError(
                _("Снять можно только действующих администраторов: %(names)s — не администратор.")
                % {"names": ", ".join(str(person) for person in strangers)},
                code="not_an_admin",
            )
    if any(person.phone == new_phone for person in people):
        raise ValidationError(
            _("Новый администратор указан среди снимаемых: уберите его из списка."),
            code="new_admin_removed",
        )
    return people


def file_request(
    filer: Person,
    organization: Organization,
    *,
    full_name: str,
    phone: str,
    letter: UploadedFile | None,
    order: UploadedFile | None,
    admins_to_remove: Iterable[Person] | None = None,
) -> AdminChangeRequest:
    """File an admin-change request for `organization` with the letter and the head's order.

    `admins_to_remove` None means every current admin but the head. Any refusal stores nothing,
    neither a row nor a file.
    """
    now = timezone.now()
    if not selectors.may_file(filer, organization, now):
        raise PermissionDenied(
            _(
                "Заявку на смену администратора подаёт администратор или учитель организации "
                "«%(org)s»."
            )
            % {"org": organization}
        )
    cleaned_name = _clean_full_name(full_name)
    new_phone = normalize_phone(phone)
    documents = [
        check_document(AdminChangeDocument.Kind.LETTER, letter),
        check_document(AdminChangeDocument.Kind.ORDER, order),
    ]
    removed = _admins_to_remove(organization, admins_to_remove, new_phone, now)
    stored: list[str] = []
    try:
        with transaction.atomic():
            if AdminChangeRequest.objects.filter(
                organization=organization, status__in=AdminChangeRequest.OPEN
            ).exists():
                raise _already_open(organization)
            change = AdminChangeRequest.objects.create(
                organization=organization,
                filed_by=filer,
                filed_at=now,
                new_admin_full_name=cleaned_name,
                new_admin_phone=new_phone,
            )
            change.admins_to_remove.set(removed)
            for document in documents:
                row = AdminChangeDocument(
                    request=change,
                    kind=document.kind,
                    content_type=document.file_type.content_type,
                    extension=document.file_type.extension,
                    original_name=document.original_name,
                    size=len(document.content),
                )
                row.file.save("upload", ContentFile(document.content), save=False)
                stored.append(row.file.name)
                row.save()
            record_audit(
                "support.admin_change.filed",
                actor=filer,
                organization=organization,
                request=change.pk,
                new_admin_phone=masked_phone(new_phone),
                admins_to_remove=[person.pk for person in removed],
            )
    except IntegrityError:
        # Another request for the school was filed at the same moment.
        _delete_files(stored)
        raise _already_open(organization) from None
    except BaseException:
        # Nothing is left of a refused request: the files go with the rolled-back rows.
        _delete_files(stored)
        raise
    logger.info(
        "Admin-change request %s filed for organization %s by person %s",
        change.pk,
        organization.pk,
        filer.pk,
    )
    return change


def _already_open(organization: Organization) -> ValidationError:
    return ValidationError(
        _(
            "У организации «%(org)s» уже есть заявка на смену администратора, по которой не "
            "принято решение. Дождитесь ответа службы поддержки."
        )
        % {"org": organization},
        code="already_open",
    )


def _delete_files(names: list[str]) -> None:
    storage = AdminChangeDocument._meta.get_field("file").storage
    for name in names:
        storage.delete(name)


def _require_operator(person: Person) -> None:
    if not selectors.is_operator(person):
        raise PermissionDenied(_("Заявки рассматривает только служба поддержки оператора."))


def _open_locked(change: AdminChangeRequest) -> AdminChangeRequest:
    locked = (
        AdminChangeRequest.objects.select_for_update()
        .select_related("organization__district__region")
        .get(pk=change.pk)
    )
    if not locked.is_open:
        raise ValidationError(
            _("По заявке №%(pk)s уже принято решение: %(status)s.")
            % {"pk": locked.pk, "status": locked.get_status_display()},
            code="decided",
        )
    return locked


@transaction.atomic
def take_request(change: AdminChangeRequest, *, operator: Person) -> AdminChangeRequest:
    """The operator takes the request into work; the school sees «в работе»."""
    _require_operator(operator)
    locked = _open_locked(change)
    locked.status = AdminChangeRequest.Status.IN_PROGRESS
    locked.taken_by = operator
    locked.taken_at = timezone.now()
    locked.save(update_fields=["status", "taken_by", "taken_at"])
    record_audit(
        "support.admin_change.taken",
        actor=operator,
        organization=locked.organization,
        request=locked.pk,
    )
    return locked


@transaction.atomic
def approve_request(change: AdminChangeRequest, *, operator: Person) -> AdminChangeRequest:
    _require_operator(operator)
    locked = _open_locked(change)
    organization = Organization.objects.select_for_update().get(pk=locked.organization_id)
    now = timezone.now()
    basis = _("Смена администратора по заявке №%(pk)s") % {"pk": locked.pk}
    new_admin = selectors.person_with_phone(locked.new_admin_phone)
    removed = []
    for person in locked.admins_to_remove.all():
        if new_admin is not None and person.pk == new_admin.pk:
            continue  # their phone became the new admin's after filing: they stay
        if holds_role(person, organization, Role.ADMIN, now):
            revoke_role(person, organization, Role.ADMIN, at=now, revoked_by=operator, reason=basis)
            removed.append(person.pk)
    old_phone = organization.admin_application_phone
    organization.admin_application_phone = locked.new_admin_phone
    organization.save(update_fields=["admin_application_phone"])
    granted_now = new_admin is not None and not holds_role(new_admin, organization, Role.ADMIN, now)
    if new_admin is not None and granted_now:
        # Sign-in grants the application admin only once per person; a known person,
        # perhaps a former admin, gets the role here.
        grant_role(
            new_admin, organization, Role.ADMIN, valid_from=now, granted_by=operator, reason=basis
        )
    locked.status = AdminChangeRequest.Status.APPROVED
    locked.decided_by = operator
    locked.decided_at = now
    locked.save(update_fields=["status", "decided_by", "decided_at"])
    record_audit(
        "support.admin_change.approved",
        actor=operator,
        organization=organization,
        subject=new_admin,
        request=locked.pk,
        admins_removed=removed,
        application_phone_from=masked_phone(old_phone) if old_phone else "",
        application_phone_to=masked_phone(locked.new_admin_phone),
        granted_now=granted_now,
    )
    logger.info(
        "Admin-change request %s approved by person %s: %s admin(s) removed, new admin %s",
        locked.pk,
        operator.pk,
        len(removed),
        "granted now" if granted_now else "gets the role on sign-in",
    )
    return locked


@transaction.atomic
def reject_request(
    change: AdminChangeRequest, *, operator: Person, reason: str
) -> AdminChangeRequest:
    _require_operator(operator)
    reason = reason.strip()
    if not reason:
        raise ValidationError(
            _("Укажите причину отказа — школа увидит её и сможет подать заявку заново."),
            code="no_reason",
        )
    locked = _open_locked(change)
    locked.status = AdminChangeRequest.Status.REJECTED
    locked.decided_by = operator
    locked.decided_at = timezone.now()
    locked.reason = reason[:1000]
    locked.save(update_fields=["status", "decided_by", "decided_at", "reason"])
    record_audit(
        "support.admin_change.rejected",
        actor=operator,
        organization=locked.organization,
        request=locked.pk,
        reason=locked.reason,
    )
    return locked


@transaction.atomic
def open_document(document: AdminChangeDocument, *, viewer: Person) -> AdminChangeDocument:
    """Allow `viewer` to read the document and log that they did."""
    change = document.request
    if not selectors.may_view_documents(viewer, change, timezone.now()):
        raise PermissionDenied(
            _("Документы заявки видят только служба поддержки и администраторы организации.")
        )
    record_audit(
        "support.document.viewed",
        actor=viewer,
        organization=change.organization,
        request=change.pk,
        document=document.pk,
        kind=document.kind,
    )
    return document

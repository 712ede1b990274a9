"""Admin-change requests through the services: filing, uploads, the desk's decisions, sign-in."""

import io

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone
from PIL import Image

from parta.accounts.models import AuditEntry, Role, RoleGrant
from parta.accounts.selectors import holds_role
from parta.accounts.services import revoke_role
from parta.accounts.signin import request_code, verify_code
from parta.support import services
from parta.support.models import AdminChangeDocument, AdminChangeRequest
from tests.accounts.conftest import last_code
from tests.factories import make_member, make_person
from tests.support.conftest import EXE, NEW_ADMIN_PHONE, PDF, jpeg_bytes, stored_files, upload

pytestmark = pytest.mark.django_db
IP = "203.0.113.9"


def file(s, filer=None, **overrides):
    fields = {
        "full_name": "Новикова Ольга Сергеевна",
        "phone": "8 (913) 555-00-11",
        "letter": upload(PDF, "письмо.pdf"),
        "order": upload(jpeg_bytes(), "приказ.jpg", "image/jpeg"),
    }
    fields.update(overrides)
    return services.file_request(filer or s.teacher, s.org, **fields)


def now_admins(org):
    return set(
        RoleGrant.objects.filter(
            organization=org, role=Role.ADMIN, valid_to__isnull=True
        ).values_list("person__surname", flat=True)
    )


# --- filing -------------------------------------------------------------------------------


def test_teacher_files_a_request_with_both_documents(s, media):
    change = file(s)
    assert change.status == AdminChangeRequest.Status.NEW
    assert change.filed_by == s.teacher
    assert change.new_admin_full_name == "Новикова Ольга Сергеевна"
    assert change.new_admin_phone == NEW_ADMIN_PHONE
    # By default every current admin but the head (named in the profile) is to go.
    assert list(change.admins_to_remove.all()) == [s.admin]
    documents = {d.kind: d for d in change.documents.all()}
    assert documents["letter"].content_type == "application/pdf"
    assert documents["letter"].original_name == "письмо.pdf"
    assert documents["letter"].file.read() == PDF
    assert documents["order"].content_type == "image/jpeg"
    assert documents["order"].extension == ".jpg"
    assert len(stored_files(media)) == 2
    # The stored name never comes from the filer.
    assert all("письмо" not in path.name for path in stored_files(media))
    entry = AuditEntry.objects.get(action="support.admin_change.filed")
    assert (entry.actor, entry.organization, entry.details["request"]) == (
        s.teacher,
        s.org,
        change.pk,
    )
    assert entry.details["new_admin_phone"] == "+7913*****11"


@pytest.mark.parametrize("who", ["head", "admin"])
def test_admins_and_the_head_may_file(s, who):
    change = file(s, getattr(s, who))
    assert change.filed_by == getattr(s, who)


def test_the_filer_may_name_which_admins_go(s):
    change = file(s, s.head, admins_to_remove=[])
    assert list(change.admins_to_remove.all()) == []
    AdminChangeRequest.objects.filter(pk=change.pk).update(status="rejected", reason="тест")
    change = file(s, s.head, admins_to_remove=[s.admin, s.head])
    assert set(change.admins_to_remove.all()) == {s.admin, s.head}


@pytest.mark.parametrize("who", ["parent", "outsider", "operator"])
def test_others_may_not_file(s, other_school, who, media):
    people = {
        "parent": s.parent,
        "outsider": make_member(other_school, "teacher", "Чужой Учитель Иванович"),
        "operator": s.operator,
    }
    with pytest.raises(PermissionDenied, match="администратор или учитель"):
        file(s, people[who])
    assert AdminChangeRequest.objects.count() == 0
    assert stored_files(media) == []


def test_former_teacher_may_not_file(s, media):
    revoke_role(s.teacher, s.org, Role.TEACHER)
    with pytest.raises(PermissionDenied):
        file(s)
    assert AdminChangeRequest.objects.count() == 0


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"full_name": "Новикова"}, "фамилию, имя и отчество"),
        ({"full_name": "   "}, "фамилию, имя и отчество"),
        ({"phone": "12345"}, "номер"),
        ({"phone": ""}, "номер"),
    ],
)
def test_bad_name_or_phone_is_refused_and_nothing_is_stored(s, media, overrides, message):
    with pytest.raises(ValidationError, match=message):
        file(s, **overrides)
    assert AdminChangeRequest.objects.count() == 0
    assert AdminChangeDocument.objects.count() == 0
    assert stored_files(media) == []


def test_only_current_admins_can_be_named_for_removal(s, media):
    with pytest.raises(ValidationError, match="не администратор"):
        file(s, admins_to_remove=[s.teacher])
    assert AdminChangeRequest.objects.count() == 0


def test_new_admin_cannot_be_among_those_removed(s, media):
    with pytest.raises(ValidationError, match="среди снимаемых"):
        file(s, phone="+79130000001", admins_to_remove=[s.admin])
    assert AdminChangeRequest.objects.count() == 0


def test_one_open_request_per_school(s, media):
    file(s)
    with pytest.raises(ValidationError, match="уже есть заявка"):
        file(s, s.head)
    assert AdminChangeRequest.objects.count() == 1
    assert len(stored_files(media)) == 2


# --- uploads ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("letter", "code", "message"),
    [
        (upload(EXE, "письмо.pdf"), "type_not_allowed", "это не PDF и не изображение"),
        (upload(b"", "письмо.pdf"), "empty", "файл пустой"),
        (upload(b"GIF89a" + b"\x00" * 50, "scan.gif", "image/gif"), "type_not_allowed", "не PDF"),
        (upload(b"PK\x03\x04" + b"\x00" * 50, "письмо.docx"), "type_not_allowed", "не PDF"),
        (upload(b"\x89PNG\r\n\x1a\n" + b"junk" * 20, "скан.png", "image/png"), "broken_image", ""),
        (upload(b"<html><script>alert(1)</script>", "письмо.pdf"), "type_not_allowed", "не PDF"),
        (None, "missing", "приложите файл"),
    ],
    ids=["renamed-exe", "empty", "gif", "not-office", "broken-png", "html", "missing"],
)
def test_bad_letter_is_refused_by_content_and_nothing_is_stored(s, media, letter, code, message):
    with pytest.raises(ValidationError) as refused:
        file(s, letter=letter)
    assert refused.value.code == code
    text = refused.value.messages[0]
    assert text.startswith("Официальное письмо: ")
    assert message in text
    assert AdminChangeRequest.objects.count() == 0
    assert AdminChangeDocument.objects.count() == 0
    assert stored_files(media) == []
    assert not AuditEntry.objects.filter(action__startswith="support.").exists()


def test_too_large_order_is_refused_and_nothing_is_stored(s, media, settings):
    settings.PARTA_SUPPORT_UPLOAD_MAX_BYTES = 1024
    big = PDF + b"0" * 1024
    with pytest.raises(ValidationError) as refused:
        file(s, letter=upload(PDF), order=upload(big, "приказ.pdf"))
    assert refused.value.code == "too_large"
    assert refused.value.messages[0].startswith("Приказ руководителя: файл больше 1,0\xa0КБ.")
    assert AdminChangeRequest.objects.count() == 0
    assert stored_files(media) == []


def test_file_exactly_at_the_limit_is_accepted(s, settings):
    settings.PARTA_SUPPORT_UPLOAD_MAX_BYTES = 2048
    exact = PDF + b"0" * (2048 - len(PDF))
    change = file(s, letter=upload(exact), order=upload(PDF))
    assert change.documents.get(kind="letter").size == 2048


def test_png_scan_is_accepted(s):
    out = io.BytesIO()
    Image.new("L", (300, 400), 255).save(out, "PNG")
    change = file(s, letter=upload(out.getvalue(), "scan.png", "image/png"))
    assert change.documents.get(kind="letter").content_type == "image/png"


# --- the desk -----------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["head", "admin", "teacher"])
def test_only_operators_take_and_decide(s, who):
    change = file(s)
    person = getattr(s, who)
    for decide in (
        lambda: services.take_request(change, operator=person),
        lambda: services.approve_request(change, operator=person),
        lambda: services.reject_request(change, operator=person, reason="нет"),
    ):
        with pytest.raises(PermissionDenied, match="служба поддержки"):
            decide()
    change.refresh_from_db()
    assert change.status == AdminChangeRequest.Status.NEW
    assert now_admins(s.org) == {"Смолина", "Ушедший"}


def test_inactive_operator_may_not_decide(s):
    change = file(s)
    s.operator.is_active = False
    s.operator.save()
    with pytest.raises(PermissionDenied):
        services.approve_request(change, operator=s.operator)


def test_take_shows_the_request_in_progress(s):
    change = services.take_request(file(s), operator=s.operator)
    assert change.status == AdminChangeRequest.Status.IN_PROGRESS
    assert change.get_status_display() == "в работе"
    assert change.taken_by == s.operator
    assert AuditEntry.objects.get(action="support.admin_change.taken").actor == s.operator


def test_approval_closes_the_old_role_updates_the_phone_and_new_admin_gets_rights_on_sign_in(
    s, sms_outbox
):
    change = services.take_request(file(s), operator=s.operator)
    change = services.approve_request(change, operator=s.operator)
    assert change.status == AdminChangeRequest.Status.APPROVED
    assert change.decided_by == s.operator
    s.org.refresh_from_db()
    assert s.org.admin_application_phone == NEW_ADMIN_PHONE
    # The old admin's grant is closed, not deleted; the head stays.
    old = RoleGrant.objects.get(person=s.admin, organization=s.org, role=Role.ADMIN)
    assert old.valid_to == change.decided_at
    assert old.revoked_by == s.operator
    assert f"заявке №{change.pk}" in old.reason
    assert now_admins(s.org) == {"Смолина"}
    entry = AuditEntry.objects.get(action="support.admin_change.approved")
    assert entry.details["admins_removed"] == [s.admin.pk]
    assert entry.details["application_phone_from"] == "+7913*****01"
    assert entry.details["granted_now"] is False

    # The new admin is not in Parta yet: signing in with the phone creates them as admin.
    request_code(NEW_ADMIN_PHONE, IP)
    new_admin = verify_code(
        NEW_ADMIN_PHONE,
        last_code(sms_outbox, NEW_ADMIN_PHONE),
        IP,
        full_name="Новикова Ольга Сергеевна",
    )
    assert new_admin.full_name == "Новикова Ольга Сергеевна"
    assert now_admins(s.org) == {"Смолина", "Новикова"}

    # The old admin signing in again does not get the role back.
    request_code("+79130000001", IP)
    verify_code("+79130000001", last_code(sms_outbox, "+79130000001"), IP)
    assert not holds_role(s.admin, s.org, Role.ADMIN, timezone.now())


def test_a_person_already_in_parta_becomes_admin_at_approval(s):
    s.teacher.phone = NEW_ADMIN_PHONE
    s.teacher.save()
    change = services.approve_request(file(s, s.head), operator=s.operator)
    grant = RoleGrant.objects.get(person=s.teacher, organization=s.org, role=Role.ADMIN)
    assert (grant.valid_from, grant.valid_to, grant.granted_by) == (
        change.decided_at,
        None,
        s.operator,
    )
    assert now_admins(s.org) == {"Смолина", "Кузнецов"}
    assert AuditEntry.objects.get(action="support.admin_change.approved").subject == s.teacher


def test_a_former_admin_reappointed_gets_the_role_back_at_approval(s, sms_outbox):
    # Sign-in restores no revoked admin, so approval must grant it.
    returning = make_person("Возвратова Анна Ивановна", phone=NEW_ADMIN_PHONE)
    RoleGrant.objects.create(
        person=returning,
        organization=s.org,
        role=Role.ADMIN,
        valid_from=s.org.created_at.replace(year=2025),
        valid_to=s.org.created_at.replace(year=2026, month=1),
    )
    services.approve_request(file(s), operator=s.operator)
    assert "Возвратова" in now_admins(s.org)


def test_approval_removes_only_admins_named_and_skips_ones_already_gone(s):
    change = file(s, s.head)
    revoke_role(s.admin, s.org, Role.ADMIN)
    services.approve_request(change, operator=s.operator)
    assert RoleGrant.objects.filter(person=s.admin, role=Role.ADMIN).count() == 1
    assert (
        AuditEntry.objects.get(action="support.admin_change.approved").details["admins_removed"]
        == []
    )


def test_rejection_needs_a_reason_and_the_school_sees_it(s):
    change = file(s)
    for reason in ("", "   "):
        with pytest.raises(ValidationError, match="Укажите причину отказа"):
            services.reject_request(change, operator=s.operator, reason=reason)
    change.refresh_from_db()
    assert change.status == AdminChangeRequest.Status.NEW
    change = services.reject_request(
        change, operator=s.operator, reason="  Письмо без подписи руководителя.  "
    )
    assert change.status == AdminChangeRequest.Status.REJECTED
    assert change.reason == "Письмо без подписи руководителя."
    s.org.refresh_from_db()
    assert s.org.admin_application_phone == "+79130000001"
    assert now_admins(s.org) == {"Смолина", "Ушедший"}
    entry = AuditEntry.objects.get(action="support.admin_change.rejected")
    assert entry.details == {"request": change.pk, "reason": "Письмо без подписи руководителя."}
    # A rejected request no longer blocks a new one.
    assert file(s).status == AdminChangeRequest.Status.NEW


def test_a_decided_request_cannot_be_decided_again(s):
    change = services.approve_request(file(s), operator=s.operator)
    with pytest.raises(ValidationError, match="уже принято решение: одобрена"):
        services.reject_request(change, operator=s.operator, reason="передумали")
    with pytest.raises(ValidationError, match="уже принято решение"):
        services.approve_request(change, operator=s.operator)
    with pytest.raises(ValidationError, match="уже принято решение"):
        services.take_request(change, operator=s.operator)
    assert AuditEntry.objects.filter(action="support.admin_change.approved").count() == 1


def test_every_step_is_logged_in_order(s):
    change = file(s)
    services.take_request(change, operator=s.operator)
    document = change.documents.get(kind="letter")
    services.open_document(document, viewer=s.operator)
    services.approve_request(change, operator=s.operator)
    actions = list(
        AuditEntry.objects.filter(action__startswith="support.")
        .order_by("id")
        .values_list("action", "actor__surname")
    )
    assert actions == [
        ("support.admin_change.filed", "Кузнецов"),
        ("support.admin_change.taken", "Оператор"),
        ("support.document.viewed", "Оператор"),
        ("support.admin_change.approved", "Оператор"),
    ]
    viewed = AuditEntry.objects.get(action="support.document.viewed")
    assert viewed.details == {
        "request": change.pk,
        "document": document.pk,
        "kind": "letter",
    }


@pytest.mark.parametrize("who", ["teacher", "parent"])
def test_documents_are_not_opened_for_others(s, who):
    change = file(s)
    with pytest.raises(PermissionDenied):
        services.open_document(change.documents.first(), viewer=getattr(s, who))
    assert not AuditEntry.objects.filter(action="support.document.viewed").exists()


def test_school_admin_may_open_documents(s):
    change = file(s)
    services.open_document(change.documents.first(), viewer=s.head)
    assert AuditEntry.objects.get(action="support.document.viewed").actor == s.head

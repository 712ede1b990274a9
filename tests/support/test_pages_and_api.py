"""The «Помощь» pages, the desk's pages, and the JSON API, with their refusals."""

from datetime import UTC, datetime

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from parta.accounts.models import AuditEntry, Role, RoleGrant
from parta.support import services
from parta.support.models import AdminChangeRequest
from tests.factories import client_for, make_member
from tests.support.conftest import EXE, NEW_ADMIN_PHONE, PDF, jpeg_bytes, stored_files, upload

pytestmark = pytest.mark.django_db
API = "/api/support"


def filed(s, filer=None):
    return services.file_request(
        filer or s.teacher,
        s.org,
        full_name="Новикова Ольга Сергеевна",
        phone=NEW_ADMIN_PHONE,
        letter=upload(PDF),
        order=upload(jpeg_bytes(), "приказ.jpg", "image/jpeg"),
    )


# --- the Help section ---------------------------------------------------------------------


def test_help_page_explains_and_links_the_form_for_the_school(s):
    page = client_for(s.teacher).get(reverse("support:help"))
    text = page.content.decode()
    assert page.status_code == 200
    assert "Сменился администратор" in text
    assert reverse("support:file", args=[s.org.pk]) in text
    assert 'href="/help/"' in text  # the nav link «Помощь»


def test_help_page_is_open_without_signing_in_but_offers_no_form(s):
    page = Client().get(reverse("support:help"))
    assert page.status_code == 200
    assert "Войдите" in page.content.decode()
    assert reverse("support:file", args=[s.org.pk]) not in page.content.decode()


def test_form_page_ticks_every_admin_but_the_head(s):
    page = client_for(s.teacher).get(reverse("support:file", args=[s.org.pk]))
    text = page.content.decode()
    assert page.status_code == 200
    assert 'enctype="multipart/form-data"' in text
    admin_box = f'value="{s.admin.pk}"'
    head_box = f'value="{s.head.pk}"'
    assert admin_box in text and head_box in text
    assert text[text.index(admin_box) :].split(">")[0].endswith("checked")
    assert "checked" not in text[text.index(head_box) :].split(">")[0]


def test_parent_gets_no_form(s):
    page = client_for(s.parent).get(reverse("support:file", args=[s.org.pk]))
    assert page.status_code == 403


def test_filing_through_the_page_then_the_school_sees_the_status(s, media):
    client = client_for(s.teacher)
    response = client.post(
        reverse("support:file", args=[s.org.pk]),
        {
            "full_name": "Новикова Ольга Сергеевна",
            "phone": "+7 913 555-00-11",
            "letter": upload(PDF),
            "order": upload(jpeg_bytes(), "приказ.jpg", "image/jpeg"),
            "admins_to_remove": [s.admin.pk],
        },
    )
    change = AdminChangeRequest.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("support:request", args=[change.pk])
    assert list(change.admins_to_remove.all()) == [s.admin]
    assert len(stored_files(media)) == 2
    detail = client.get(response["Location"]).content.decode()
    assert "новая" in detail and "Кузнецов Иван Сергеевич" in detail
    # A teacher filer is not shown the documents: operators and the school's admins are.
    assert reverse("support:document", args=[change.documents.all()[0].pk]) not in detail
    services.reject_request(change, operator=s.operator, reason="Нет исходящего номера.")
    listing = client.get(reverse("support:help")).content.decode()
    assert "отклонена" in listing and "Нет исходящего номера." in listing


def test_a_renamed_exe_through_the_page_shows_a_russian_error_and_stores_nothing(s, media):
    response = client_for(s.head).post(
        reverse("support:file", args=[s.org.pk]),
        {
            "full_name": "Новикова Ольга Сергеевна",
            "phone": NEW_ADMIN_PHONE,
            "letter": upload(EXE, "письмо.pdf"),
            "order": upload(PDF),
        },
    )
    assert response.status_code == 200
    assert "Официальное письмо: это не PDF и не изображение" in response.content.decode()
    assert AdminChangeRequest.objects.count() == 0
    assert stored_files(media) == []


def test_others_do_not_see_a_school_request(s, other_school):
    change = filed(s)
    outsider = make_member(other_school, "admin", "Чужой Админ Иванович")
    for person in (s.parent, outsider):
        page = client_for(person).get(reverse("support:request", args=[change.pk]))
        assert page.status_code == 404
    assert client_for(s.head).get(reverse("support:request", args=[change.pk])).status_code == 200


# --- documents ----------------------------------------------------------------------------


def test_documents_are_served_to_the_operator_and_school_admins_and_logged(s):
    change = filed(s)
    letter = change.documents.get(kind="letter")
    url = reverse("support:document", args=[letter.pk])
    for person in (s.operator, s.head):
        response = client_for(person).get(url)
        assert response.status_code == 200
        assert response.getvalue() == PDF
        assert response["Content-Type"] == "application/pdf"
        assert response["X-Content-Type-Options"] == "nosniff"
        assert "no-store" in response["Cache-Control"]
    viewers = list(
        AuditEntry.objects.filter(action="support.document.viewed")
        .order_by("id")
        .values_list("actor", flat=True)
    )
    assert viewers == [s.operator.pk, s.head.pk]


@pytest.mark.parametrize("who", ["teacher", "parent"])
def test_documents_are_not_served_to_others(s, who):
    change = filed(s)
    url = reverse("support:document", args=[change.documents.first().pk])
    assert client_for(getattr(s, who)).get(url).status_code == 403
    assert Client().get(url).status_code == 302  # to sign-in
    api = client_for(getattr(s, who)).get(f"{API}/documents/{change.documents.first().pk}")
    assert api.status_code == 403
    assert not AuditEntry.objects.filter(action="support.document.viewed").exists()


# --- the desk -----------------------------------------------------------------------------


def test_desk_lists_the_queue_for_operators_only(s):
    change = filed(s)
    page = client_for(s.operator).get(reverse("support:desk"))
    assert page.status_code == 200
    assert "Новикова Ольга Сергеевна" in page.content.decode()
    assert reverse("support:request", args=[change.pk]) in page.content.decode()
    for person in (s.head, s.teacher):
        assert client_for(person).get(reverse("support:desk")).status_code == 403


def test_the_desk_and_the_request_show_the_school_s_local_time(s, monkeypatch):
    # 18:30 UTC on 9 March is 01:30 on 10 March in the school's Krasnoyarsk.
    change = filed(s)
    AdminChangeRequest.objects.filter(pk=change.pk).update(
        filed_at=datetime(2031, 3, 9, 18, 30, tzinfo=UTC)
    )
    monkeypatch.setattr(timezone, "now", lambda: datetime(2031, 3, 12, 5, 0, tzinfo=UTC))
    operator = client_for(s.operator)
    desk = operator.get(reverse("support:desk")).content.decode()
    detail = operator.get(reverse("support:request", args=[change.pk])).content.decode()
    assert '<small title="10.03.2031 01:30">' in desk and ", 10 мар.</small>" in desk
    assert 'title="10.03.2031 01:30">10 мар.</time>' in detail


def test_operator_takes_and_approves_through_the_pages(s):
    change = filed(s)
    operator = client_for(s.operator)
    detail = operator.get(reverse("support:request", args=[change.pk])).content.decode()
    assert "ещё никого нет" in detail
    assert reverse("support:document", args=[change.documents.first().pk]) in detail
    operator.post(reverse("support:take", args=[change.pk]))
    change.refresh_from_db()
    assert change.status == AdminChangeRequest.Status.IN_PROGRESS
    response = operator.post(reverse("support:approve", args=[change.pk]))
    assert response.status_code == 302
    change.refresh_from_db()
    s.org.refresh_from_db()
    assert change.status == AdminChangeRequest.Status.APPROVED
    assert s.org.admin_application_phone == NEW_ADMIN_PHONE
    assert not RoleGrant.objects.filter(
        person=s.admin, role=Role.ADMIN, valid_to__isnull=True
    ).exists()


def test_reject_page_without_reason_changes_nothing(s):
    change = filed(s)
    operator = client_for(s.operator)
    response = operator.post(reverse("support:reject", args=[change.pk]), {"reason": " "})
    assert response.status_code == 302
    change.refresh_from_db()
    assert change.status == AdminChangeRequest.Status.NEW
    page = operator.get(response["Location"]).content.decode()
    assert "Укажите причину отказа" in page


def test_school_admin_cannot_approve_through_the_page(s):
    change = filed(s)
    response = client_for(s.head).post(reverse("support:approve", args=[change.pk]))
    assert response.status_code == 403
    change.refresh_from_db()
    assert change.status == AdminChangeRequest.Status.NEW


# --- the API ------------------------------------------------------------------------------


def test_api_files_lists_and_the_desk_decides(s, media):
    teacher = client_for(s.teacher)
    response = teacher.post(
        f"{API}/organizations/{s.org.pk}/admin-change-requests",
        {
            "full_name": "Новикова Ольга Сергеевна",
            "phone": "89135550011",
            "letter": upload(PDF),
            "order": upload(PDF, "приказ.pdf"),
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "new"
    assert body["status_label"] == "новая"
    assert body["new_admin_phone"] == NEW_ADMIN_PHONE
    assert body["admins_to_remove"] == [s.admin.pk]
    assert body["filed_by_id"] == s.teacher.pk
    assert body["documents"] == []  # a teacher is not shown the documents

    listed = teacher.get(f"{API}/admin-change-requests").json()
    assert [item["id"] for item in listed] == [body["id"]]
    head_view = client_for(s.head).get(f"{API}/admin-change-requests/{body['id']}").json()
    assert sorted(d["kind"] for d in head_view["documents"]) == ["letter", "order"]

    operator = client_for(s.operator)
    queue = operator.get(f"{API}/desk/queue").json()
    assert [item["id"] for item in queue] == [body["id"]]
    assert operator.post(f"{API}/desk/{body['id']}/take").json()["status"] == "in_progress"
    refused = operator.post(
        f"{API}/desk/{body['id']}/reject", {"reason": ""}, content_type="application/json"
    )
    assert refused.status_code == 400
    assert "Укажите причину отказа" in refused.json()["detail"]
    approved = operator.post(f"{API}/desk/{body['id']}/approve")
    assert approved.json()["status"] == "approved"
    assert operator.get(f"{API}/desk/queue").json() == []


def test_api_refuses_bad_upload_with_400_and_stores_nothing(s, media):
    response = client_for(s.teacher).post(
        f"{API}/organizations/{s.org.pk}/admin-change-requests",
        {"full_name": "Новикова Ольга", "phone": NEW_ADMIN_PHONE, "letter": upload(PDF)},
    )
    assert response.status_code == 400
    assert response.json()["detail"].startswith("Приказ руководителя: приложите файл")
    assert AdminChangeRequest.objects.count() == 0
    assert stored_files(media) == []


def test_api_remove_admin_ids_empty_means_none(s):
    response = client_for(s.head).post(
        f"{API}/organizations/{s.org.pk}/admin-change-requests",
        {
            "full_name": "Новикова Ольга",
            "phone": NEW_ADMIN_PHONE,
            "letter": upload(PDF),
            "order": upload(PDF),
            "remove_admin_ids": "",
        },
    )
    assert response.status_code == 201, response.content
    assert response.json()["admins_to_remove"] == []


def test_api_parent_may_not_file_and_non_operators_have_no_queue(s):
    parent = client_for(s.parent)
    response = parent.post(
        f"{API}/organizations/{s.org.pk}/admin-change-requests",
        {"full_name": "Новикова Ольга", "phone": NEW_ADMIN_PHONE, "letter": upload(PDF)},
    )
    assert response.status_code == 403
    assert parent.get(f"{API}/desk/queue").status_code == 403
    change = filed(s)
    assert parent.get(f"{API}/admin-change-requests/{change.pk}").status_code == 404
    assert client_for(s.head).post(f"{API}/desk/{change.pk}/approve").status_code == 403

"""A call a student (or a parent) starts stays among the members of its conversation: no
invite link and no anonymous guests; teachers, staff and admins may open theirs."""

import pytest
from django.test import Client
from django.utils import timezone

from parta.accounts.services import remove_from_organization
from parta.calls.models import Call
from parta.calls.selectors import may_join, may_manage
from parta.calls.services import open_call
from tests.factories import make_member

pytestmark = pytest.mark.django_db


def api_for(person) -> Client:
    client = Client()
    client.force_login(person)
    return client


def post(client: Client, path: str, body: dict) -> tuple[int, dict]:
    response = client.post(path, body, content_type="application/json")
    return response.status_code, response.json()


@pytest.mark.parametrize(
    "body",
    [
        {"with_link": True},
        {"allow_anonymous": True},
        {"with_link": True, "allow_anonymous": True},
    ],
)
def test_a_student_s_call_in_the_class_chat_cannot_be_opened_to_outsiders(c, body):
    status, answer = post(api_for(c.student), "/api/calls/", {"conversation_id": c.chat.pk, **body})
    assert status == 403
    assert "учителя, сотрудники и администраторы" in answer["detail"]
    assert not Call.objects.exists()


def test_a_student_starts_a_members_only_call_in_the_class_chat(c):
    status, answer = post(api_for(c.student), "/api/calls/", {"conversation_id": c.chat.pk})
    assert status == 201
    assert (answer["link"], answer["call"]["allow_anonymous"]) == (None, False)


def test_students_and_parents_start_no_call_by_link_outside_a_chat(c):
    parent = make_member(c.org, "parent", "Соколова Ирина Павловна")
    for person in (c.student, parent):
        status, _answer = post(api_for(person), "/api/calls/", {"organization_id": c.org.pk})
        assert status == 403
    assert not Call.objects.exists()
    # The page offers them no such form either.
    page = api_for(c.student).get("/calls/").content.decode()
    assert "Звонок по ссылке" not in page


def test_the_student_host_may_not_add_a_link_or_guests_later(c):
    call = open_call(c.student, c.org, conversation=c.chat).call
    student = api_for(c.student)
    status, _answer = post(student, f"/api/calls/{call.pk}/link", {})
    assert status == 403
    response = student.patch(
        f"/api/calls/{call.pk}", {"allow_anonymous": True}, content_type="application/json"
    )
    assert response.status_code == 403
    call.refresh_from_db()
    assert (call.link_hash, call.allow_anonymous) == (None, False)
    # The call page draws no link controls for the student host.
    page = student.get(f"/calls/{call.pk}/").content.decode()
    assert 'data-may-open=""' in page


def test_teachers_staff_and_admins_open_calls_to_outsiders(c):
    staff = make_member(c.org, "staff", "Орлова Вера Ивановна")
    for person in (c.teacher, staff, c.admin):
        status, answer = post(
            api_for(person), "/api/calls/", {"organization_id": c.org.pk, "allow_anonymous": True}
        )
        assert status == 201
        assert answer["link"] and answer["call"]["allow_anonymous"] is True
    page = api_for(c.teacher).get("/calls/").content.decode()
    assert "Звонок по ссылке" in page


def test_someone_who_left_the_school_is_let_into_neither_its_chat_s_call_nor_their_own(c):
    call = open_call(c.student, c.org, conversation=c.chat).call
    teacher_call = open_call(c.teacher, c.org, conversation=c.chat).call
    assert teacher_call == call  # the chat's running call is joined, not doubled
    remove_from_organization(c.student, c.org)
    page = api_for(c.student).get(f"/calls/{call.pk}/")
    assert page.status_code == 404
    assert not may_join(c.student, call, timezone.now(), link_hash=None)
    assert not may_manage(c.student, call, timezone.now())

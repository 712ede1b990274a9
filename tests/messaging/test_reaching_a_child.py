"""Who may reach a student inside their own school (Sferum's «безопасный режим», always on):
direct chats, the people list, and the «написать лично» buttons of a chat's member list."""

import pytest
from django.core.exceptions import PermissionDenied

from parta.accounts.models import ParentLink
from parta.messaging.models import Conversation
from parta.messaging.services import create_conversation, start_direct_chat
from tests.factories import make_class, make_member
from tests.messaging.conftest import enrol


@pytest.fixture
def six_b(s):
    """Another class of the same school, with a student and her mother."""
    six_b = make_class(s.org, "6Б", class_teacher=s.colleague)
    student = make_member(s.org, "student", "Зайцева Мария")
    enrol(student, six_b)
    mother = make_member(s.org, "parent", "Зайцева Ольга Петровна")
    ParentLink.objects.create(parent=mother, child=student)
    return six_b, student, mother


def _direct(person, other, org):
    return start_direct_chat(person, other, org)


def test_a_parent_writes_to_their_child_and_the_teachers_but_not_to_another_child(s, six_b):
    mother, own_child, other_child = s.parents[0], s.students[0], s.students[1]
    assert _direct(mother, own_child, s.org).purpose == Conversation.Purpose.DIRECT
    assert _direct(mother, s.teacher, s.org).purpose == Conversation.Purpose.DIRECT
    assert _direct(mother, s.admin, s.org).purpose == Conversation.Purpose.DIRECT
    assert _direct(mother, s.parents[1], s.org).purpose == Conversation.Purpose.DIRECT
    for stranger in (other_child, six_b[1]):
        with pytest.raises(PermissionDenied, match="только с его учителями"):
            _direct(mother, stranger, s.org)
    # Nothing was made for the refused pairs.
    assert not Conversation.objects.filter(members__person=other_child).filter(
        members__person=mother
    )


def test_a_student_writes_to_classmates_teachers_and_own_parents_only(s, six_b):
    student = s.students[0]
    assert _direct(student, s.students[1], s.org)  # a classmate
    assert _direct(student, s.teacher, s.org)
    assert _direct(student, s.colleague, s.org)  # any teacher of the school
    assert _direct(student, s.parents[0], s.org)  # own mother
    for stranger in (s.parents[1], six_b[1], six_b[2], s.staff):
        with pytest.raises(PermissionDenied):
            _direct(student, stranger, s.org)


def test_teachers_and_admins_reach_any_student_and_the_school_staff_member_does_not(s, six_b):
    assert _direct(s.teacher, six_b[1], s.org)
    assert _direct(s.admin, s.students[1], s.org)
    with pytest.raises(PermissionDenied):
        _direct(s.staff, s.students[0], s.org)
    assert _direct(s.staff, s.parents[0], s.org)  # adults among themselves


def test_a_direct_chat_made_another_way_keeps_the_rule(s):
    with pytest.raises(PermissionDenied):
        create_conversation(
            s.parents[0],
            s.org,
            title="личное",
            purpose=Conversation.Purpose.DIRECT,
            members=[s.students[1]],
        )


def test_the_api_refuses_a_parent_writing_to_another_family_s_child(client, s):
    client.force_login(s.parents[0])
    response = client.post(
        "/api/messaging/conversations/direct",
        {"organization_id": s.org.pk, "person_id": s.students[1].pk},
        content_type="application/json",
    )
    assert response.status_code == 403
    assert "учителями" in response.json()["detail"]
    allowed = client.post(
        "/api/messaging/conversations/direct",
        {"organization_id": s.org.pk, "person_id": s.teacher.pk},
        content_type="application/json",
    )
    assert allowed.status_code == 200


def _people(client, person, org):
    client.force_login(person)
    response = client.get(f"/api/accounts/organizations/{org.pk}/people")
    assert response.status_code == 200
    return {row["id"]: row for row in response.json()}


def test_a_parent_sees_the_staff_and_their_own_children_only(client, s, six_b):
    people = _people(client, s.parents[0], s.org)
    assert set(people) == {
        s.admin.pk,
        s.teacher.pk,
        s.colleague.pk,
        s.students[0].pk,
        s.parents[0].pk,
    }
    assert people[s.students[0].pk]["roles"] == ["student"]
    assert all("phone" not in row for row in people.values())


def test_a_student_sees_the_staff_classmates_and_own_parents(client, s, six_b):
    people = _people(client, s.students[0], s.org)
    assert set(people) == {
        s.admin.pk,
        s.teacher.pk,
        s.colleague.pk,
        s.students[0].pk,
        s.students[1].pk,
        s.parents[0].pk,
    }
    assert six_b[1].pk not in people and s.parents[1].pk not in people


def test_the_school_s_adults_see_everyone(client, s, six_b):
    everyone = {
        s.admin.pk,
        s.teacher.pk,
        s.colleague.pk,
        s.staff.pk,
        *[p.pk for p in s.students + s.parents],
        six_b[1].pk,
        six_b[2].pk,
    }
    for adult in (s.teacher, s.admin, s.staff):
        assert set(_people(client, adult, s.org)) == everyone


def test_the_people_list_schema_carries_no_phone(client, s):
    client.force_login(s.teacher)
    schema = client.get("/api/openapi.json").json()
    operation = schema["paths"]["/api/accounts/organizations/{organization_id}/people"]["get"]
    ref = operation["responses"]["200"]["content"]["application/json"]["schema"]["items"]["$ref"]
    component = schema["components"]["schemas"][ref.rsplit("/", 1)[1]]
    assert set(component["properties"]) == {"id", "full_name", "roles"}


def test_the_member_list_offers_a_private_message_only_where_one_may_be_started(client, s):
    parents_chat = create_conversation(
        s.teacher,
        s.org,
        title="5А — родители",
        purpose=Conversation.Purpose.PARENTS,
        school_class=s.five_a,
    )
    class_chat = create_conversation(
        s.teacher, s.org, title="5А", purpose=Conversation.Purpose.CLASS, school_class=s.five_a
    )
    client.force_login(s.students[0])
    page = client.get(f"/messages/{class_chat.pk}/").content.decode()
    # The classmate and the teacher each get a button; the student themself does not.
    assert page.count('name="person_id"') == 2
    assert f'value="{s.students[1].pk}"' in page and f'value="{s.teacher.pk}"' in page
    client.force_login(s.parents[0])
    page = client.get(f"/messages/{parents_chat.pk}/").content.decode()
    assert f'value="{s.teacher.pk}"' in page and f'value="{s.parents[1].pk}"' in page

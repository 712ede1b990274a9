"""A teacher has one class chat and one parents' chat per class (issue 15): a second attempt
opens the one she has, from the page and the API; a colleague's own chat of the class is
told apart by name; the rights are checked before anything is said of what exists."""

import pytest
from django.contrib.messages import get_messages
from django.core.exceptions import PermissionDenied

from parta.messaging.models import Conversation
from parta.messaging.services import ChatExists, create_conversation, delete_conversation
from tests.factories import client_for

pytestmark = pytest.mark.django_db


def class_chat(s, creator, title="5А — чат класса", purpose="class"):
    return create_conversation(creator, s.org, title=title, purpose=purpose, school_class=s.five_a)


def test_a_second_class_chat_is_refused_with_the_first(s):
    first = class_chat(s, s.teacher)
    with pytest.raises(ChatExists) as refused:
        class_chat(s, s.teacher, title="5А — ещё один")
    assert refused.value.conversation == first
    assert refused.value.code == "chat_exists"
    assert refused.value.messages == ["У вас уже есть чат «5А — чат класса» этого класса."]
    assert list(Conversation.objects.all()) == [first]


def test_the_class_chat_and_the_parents_chat_are_one_each(s):
    chat = class_chat(s, s.teacher)
    parents = class_chat(s, s.teacher, title="5А — родители", purpose="parents")
    assert (chat.purpose, parents.purpose) == ("class", "parents")
    with pytest.raises(ChatExists) as refused:
        class_chat(s, s.teacher, title="5А — родители 2", purpose="parents")
    assert refused.value.conversation == parents


def test_after_deleting_it_a_new_one_may_be_made(s):
    first = class_chat(s, s.teacher)
    delete_conversation(first, by=s.teacher)
    second = class_chat(s, s.teacher)
    assert second != first and second.title == "5А — чат класса"


def test_a_subject_teacher_has_her_own_told_apart_by_name(s):
    class_chat(s, s.teacher)
    own = class_chat(s, s.colleague)
    assert own.title == "5А — чат класса (Кузнецов Иван Сергеевич)"
    named = class_chat(s, s.admin, title="5А — математика")
    assert named.title == "5А — математика"
    assert Conversation.objects.filter(school_class=s.five_a, purpose="class").count() == 3


def test_rights_come_before_what_exists(s):
    class_chat(s, s.teacher, title="5А — родители", purpose="parents")
    with pytest.raises(PermissionDenied):
        class_chat(s, s.colleague, title="5А — родители", purpose="parents")


def test_the_page_opens_the_chat_one_has(s):
    first = class_chat(s, s.teacher)
    teacher = client_for(s.teacher)
    response = teacher.post(
        "/messages/new/", {"what": "class", "organization": s.org.pk, "school_class": s.five_a.pk}
    )
    assert (response.status_code, response["Location"]) == (302, f"/messages/{first.pk}/")
    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        "Этот чат у вас уже есть — он открыт."
    ]
    assert Conversation.objects.count() == 1


def test_the_api_answers_200_with_the_chat_one_has(s):
    first = class_chat(s, s.teacher)
    body = {
        "organization_id": s.org.pk,
        "title": "5А — второй",
        "purpose": "class",
        "school_class_id": s.five_a.pk,
    }
    again = client_for(s.teacher).post(
        "/api/messaging/conversations", body, content_type="application/json"
    )
    assert again.status_code == 200
    assert (again.json()["id"], again.json()["title"]) == (first.pk, "5А — чат класса")
    made = client_for(s.colleague).post(
        "/api/messaging/conversations", body, content_type="application/json"
    )
    assert made.status_code == 201 and made.json()["title"] == "5А — второй"
    assert Conversation.objects.count() == 2

"""A service's refusal, raised anywhere in a handler, answers with the service's words and a
code (parta.api's exception handlers), and what the refused call wrote is rolled back."""

import typing

import pytest
from django.core.exceptions import PermissionDenied
from django.db.models.signals import post_save

from parta.calls.models import Call
from parta.messaging import services
from parta.messaging.models import Conversation, Message
from parta.messaging.services import send_message
from tests.api.test_bad_input import MESSAGING, client_for, messages_url, post

pytestmark = pytest.mark.django_db


def test_bad_input_answers_400_with_the_service_s_words_and_invalid_without_a_code(s, chat):
    response = post(client_for(s.teacher), messages_url(chat), {"text": "   "})
    assert (response.status_code, response.json()) == (
        400,
        {"detail": "Пустое сообщение не отправляется.", "code": "invalid"},
    )
    assert not Message.objects.exists()


def test_a_refusal_before_the_service_keeps_its_own_code(s, chat):
    client = client_for(s.teacher)
    unknown_person = {"detail": "Кого-то из участников нет.", "code": "unknown_person"}
    created = post(
        client,
        f"{MESSAGING}/conversations",
        {"organization_id": s.org.pk, "title": "Новый", "member_ids": [s.colleague.pk, 10**9]},
    )
    assert (created.status_code, created.json()) == (400, unknown_person)
    assert list(Conversation.objects.all()) == [chat]
    added = post(client, f"{MESSAGING}/conversations/{chat.pk}/members", {"person_ids": [10**9]})
    assert (added.status_code, added.json()) == (400, unknown_person)
    sent = post(client, messages_url(chat), {"text": "план", "attachment_ids": [10**9]})
    assert (sent.status_code, sent.json()) == (
        400,
        {"detail": "Вложение не найдено.", "code": "unknown_attachment"},
    )
    call = post(client, "/api/calls/", {"title": "Без беседы"})
    assert (call.status_code, call.json()) == (
        400,
        {"detail": "conversation_id или organization_id", "code": "invalid"},
    )
    assert not Message.objects.exists()
    assert not Call.objects.exists()


def test_not_allowed_answers_403_with_the_service_s_words(s, chat):
    message = send_message(s.teacher, chat, "план")
    response = post(
        client_for(s.students[0]), f"{MESSAGING}/messages/{message.pk}/pin", {"pinned": True}
    )
    assert (response.status_code, response.json()) == (
        403,
        {
            "detail": "Закреплять сообщения могут модераторы и администратор школы.",
            "code": "forbidden",
        },
    )
    message.refresh_from_db()
    assert message.pinned_at is None


def test_an_admin_who_moderates_but_is_not_in_the_chat_may_not_read_it(s, chat):
    response = client_for(s.admin).get(messages_url(chat))
    assert (response.status_code, response.json()) == (
        403,
        {"detail": "Читать беседу могут её участники.", "code": "forbidden"},
    )


def test_a_refusal_without_words_answers_forbidden(s, chat, monkeypatch):
    message = send_message(s.teacher, chat, "план")

    def refuse(*args: object, **kwargs: object) -> typing.NoReturn:
        raise PermissionDenied

    monkeypatch.setattr(services, "edit_message", refuse)
    response = client_for(s.teacher).patch(
        f"{MESSAGING}/messages/{message.pk}", {"text": "новый"}, content_type="application/json"
    )
    assert (response.status_code, response.json()) == (
        403,
        {"detail": "forbidden", "code": "forbidden"},
    )


@pytest.fixture
def lost_row():
    """Every stored message is followed, inside the service's transaction, by a lookup that
    finds nothing: a bug of the kind a service would otherwise answer with a 500."""

    def look_up(**kwargs: object) -> typing.NoReturn:
        raise Message.DoesNotExist("Message matching query does not exist.")

    post_save.connect(look_up, sender=Message, dispatch_uid="lost_row")
    yield
    post_save.disconnect(sender=Message, dispatch_uid="lost_row")


def test_a_row_a_service_does_not_find_answers_404_like_any_other_and_stores_nothing(
    s, chat, lost_row
):
    client = client_for(s.teacher)
    response = post(client, messages_url(chat), {"text": "план"})
    unknown = client.get(f"{MESSAGING}/conversations/{10**9}")
    assert (response.status_code, response.json()) == (404, {"detail": "Not Found"})
    assert (unknown.status_code, response.content) == (404, unknown.content)
    assert not Message.objects.exists()

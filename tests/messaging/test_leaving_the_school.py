"""Someone removed from the school (every role closed) loses its chats at once: pages, API,
the chat list and the live events of new messages."""

import pytest
from django.core.exceptions import PermissionDenied

from parta.accounts.services import grant_role, remove_from_organization
from parta.messaging.models import Conversation, Message
from parta.messaging.services import create_conversation, send_message
from parta.realtime.models import PersonEvent
from tests.factories import make_member


def test_a_person_removed_from_the_school_can_neither_write_nor_read(client, school):
    teacher = make_member(school, "teacher", "Смирнова Елена Викторовна")
    leaving = make_member(school, "teacher", "Орлова Мария Сергеевна")
    chat = create_conversation(
        teacher,
        school,
        title="Учительская",
        purpose=Conversation.Purpose.STAFF,
        members=[leaving],
    )
    send_message(leaving, chat, "Пока ещё здесь")
    client.force_login(leaving)
    assert client.get(f"/messages/{chat.pk}/").status_code == 200

    remove_from_organization(leaving, school, removed_by=teacher)
    with pytest.raises(PermissionDenied):
        send_message(leaving, chat, "Уже не здесь")
    assert client.get(f"/messages/{chat.pk}/").status_code == 404
    assert client.get(f"/api/messaging/conversations/{chat.pk}").status_code == 404
    assert Message.objects.filter(author=leaving).count() == 1


def test_a_parent_who_left_gets_no_live_messages_and_no_longer_lists_the_chat(client, school):
    teacher = make_member(school, "teacher", "Смирнова Елена Викторовна")
    parent = make_member(school, "parent", "Кузнецова Ольга Ивановна")
    chat = create_conversation(
        teacher,
        school,
        title="5А — родители",
        members=[parent],
    )
    client.force_login(parent)

    def live_texts() -> list[str]:
        return [
            event.payload["message"]["text"]
            for event in PersonEvent.objects.filter(person=parent, kind="message.created")
        ]

    def listed() -> list[int]:
        return [row["id"] for row in client.get("/api/messaging/conversations").json()]

    send_message(teacher, chat, "Собрание в четверг")
    assert live_texts() == ["Собрание в четверг"]
    assert listed() == [chat.pk]

    remove_from_organization(parent, school, removed_by=teacher)
    send_message(teacher, chat, "Оценки за четверть")
    assert live_texts() == ["Собрание в четверг"]
    assert listed() == []
    assert "5А — родители" not in client.get("/messages/").content.decode()

    # Back in the school (a younger child enrols): the chat and its live messages return.
    grant_role(parent, school, "parent")
    send_message(teacher, chat, "Добро пожаловать обратно")
    assert live_texts() == ["Собрание в четверг", "Добро пожаловать обратно"]
    assert listed() == [chat.pk]

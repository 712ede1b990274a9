"""Someone removed from the school (every role closed) loses its chats at once."""

import pytest
from django.core.exceptions import PermissionDenied

from parta.accounts.services import remove_from_organization
from parta.messaging.models import Conversation, Message
from parta.messaging.services import create_conversation, send_message
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

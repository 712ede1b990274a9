"""Every live event about a conversation names it at the top of its payload, whatever its
kind (messaging.events, calls.events): a tab tells at once whether it is about its chat."""

import pytest
from django.utils import timezone

from parta.calls.services import end_call, open_call
from parta.messaging.models import Conversation, ConversationMember
from parta.messaging.services import (
    add_members,
    create_conversation,
    delete_conversation,
    delete_message,
    edit_message,
    mark_read,
    pin_message,
    remove_member,
    send_message,
    set_member_role,
    set_read_only,
)
from parta.realtime.models import PersonEvent

pytestmark = pytest.mark.django_db


def test_each_kind_of_event_carries_its_conversation_id(s):
    chat = create_conversation(s.teacher, s.org, title="Методическое объединение")
    add_members(chat, [s.colleague, s.staff], by=s.teacher)
    set_member_role(chat, s.colleague, ConversationMember.Role.MODERATOR, by=s.teacher)
    message = send_message(s.colleague, chat, "Первая строка\nвторая строка")
    edit_message(message, "Первая строка\nисправлено", by=s.colleague)
    pin_message(message, True, by=s.teacher)
    mark_read(s.teacher, chat)
    call = open_call(s.teacher, s.org, conversation=chat).call
    end_call(call, at=timezone.now())
    delete_message(message, by=s.colleague)
    remove_member(chat, s.staff, by=s.teacher)
    set_read_only(chat, True, by=s.teacher)
    delete_conversation(chat, by=s.teacher)

    events = list(PersonEvent.objects.filter(person=s.teacher).order_by("seq"))
    assert [event.kind for event in events] == [
        "conversation.created",
        "conversation.member_joined",
        "message.created",  # «joined»
        "conversation.member_joined",
        "message.created",
        "conversation.member_role",
        "message.created",
        "message.edited",
        "message.pinned",
        "conversation.read",
        "message.created",  # «call started»
        "call.started",
        "call.ended",
        "message.deleted",
        "message.created",  # «left»
        "conversation.member_left",
        "conversation.updated",
        "conversation.deleted",
    ]
    assert {event.payload["conversation_id"] for event in events} == {chat.pk}
    # The one who left hears of it, and of nothing after.
    left = PersonEvent.objects.filter(person=s.staff).latest("seq")
    assert (left.kind, left.payload["conversation_id"]) == ("conversation.member_left", chat.pk)
    assert Conversation.objects.get(pk=chat.pk).deleted_at is not None

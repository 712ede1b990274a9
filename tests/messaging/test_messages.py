"""Sending, editing, deleting, replying, pinning, read state, and what the report counts."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from parta.messaging.models import Conversation, Message
from parta.messaging.selectors import conversations_of, message_data, unread_count
from parta.messaging.services import (
    ServiceNotice,
    add_members,
    create_conversation,
    delete_message,
    edit_message,
    join_channel,
    mark_read,
    pin_message,
    post_service_notice,
    remove_member,
    send_message,
)
from parta.monitoring import tallies
from parta.monitoring.engine import weekly_report
from parta.monitoring.scopes import Scope
from parta.monitoring.weeks import Week
from tests.factories import local

pytestmark = pytest.mark.django_db
AT = local("2026-11-16 09:00")
W47 = Week(2026, 47)


@pytest.fixture
def chat(s):
    return create_conversation(
        s.teacher,
        s.org,
        title="5А",
        purpose=Conversation.Purpose.CLASS,
        school_class=s.five_a,
        at=local("2026-11-02 09:00"),
    )


def row(org, week=W47):
    (only,) = weekly_report(Scope("organization", organization=org), week).organizations
    return only


def test_a_repeated_idempotency_key_stores_one_message(s, chat):
    first = send_message(s.teacher, chat, "домашнее задание", idempotency_key="k-1", at=AT)
    again = send_message(s.teacher, chat, "домашнее задание", idempotency_key="k-1", at=AT)
    assert again.pk == first.pk
    assert chat.messages.count() == 1
    # The same key from another person is another message.
    other = send_message(s.students[0], chat, "спасибо", idempotency_key="k-1", at=AT)
    assert other.pk != first.pk
    assert row(s.org)["messages"] == 2


def test_refused_sends_store_nothing(s, chat):
    for text, error in (("   ", "Пустое"), ("я" * 10_001, "длиннее")):
        with pytest.raises(ValidationError, match=error):
            send_message(s.teacher, chat, text, at=AT)
    with pytest.raises(ValidationError, match="64"):
        send_message(s.teacher, chat, "x", idempotency_key="k" * 65, at=AT)
    assert not Message.objects.exists()
    assert tallies.stored() == {}


def test_edit_marks_edited_and_adds_nothing_to_counts(s, chat):
    message = send_message(s.teacher, chat, "сбор в 9:00", at=AT)
    edit_message(message, "сбор в 9:30", by=s.teacher, at=AT + timedelta(minutes=5))
    message.refresh_from_db()
    assert (message.text, message.edited_at) == ("сбор в 9:30", AT + timedelta(minutes=5))
    assert message_data(message)["edited"] is True
    assert row(s.org)["messages"] == 1
    with pytest.raises(PermissionDenied):
        edit_message(message, "чужая правка", by=s.students[0], at=AT)
    with pytest.raises(ValidationError):
        edit_message(message, "  ", by=s.teacher, at=AT)


def test_deleted_message_shows_as_deleted_and_still_counts(s, chat):
    message = send_message(s.teacher, chat, "ошибка", at=AT)
    delete_message(message, by=s.teacher, at=AT + timedelta(minutes=1))
    message.refresh_from_db()
    shown = message_data(message)
    assert (shown["deleted"], shown["text"]) == (True, "")
    assert row(s.org)["messages"] == 1
    with pytest.raises(ValidationError, match="Удалённое"):
        edit_message(message, "исправлено", by=s.teacher, at=AT)


def test_reply_and_pin(s, chat, other_school):
    question = send_message(s.students[0], chat, "Что задали?", at=AT)
    answer = send_message(s.teacher, chat, "§12", reply_to=question, at=AT)
    assert message_data(answer)["reply_to"] == {
        "id": question.pk,
        "author": s.students[0].full_name,
        "text": "Что задали?",
    }
    elsewhere = create_conversation(s.teacher, s.org, title="кружок", at=AT)
    with pytest.raises(ValidationError, match="этой же беседы"):
        send_message(s.teacher, elsewhere, "ответ не туда", reply_to=question, at=AT)
    with pytest.raises(PermissionDenied):
        pin_message(answer, True, by=s.students[0], at=AT)
    pin_message(answer, True, by=s.teacher, at=AT)
    answer.refresh_from_db()
    assert answer.pinned_at == AT
    pin_message(answer, False, by=s.teacher, at=AT)
    answer.refresh_from_db()
    assert answer.pinned_at is None


def test_unread_counts_and_read_state_per_person(s, chat):
    student, classmate = s.students
    a = send_message(s.teacher, chat, "раз", at=AT)
    send_message(s.teacher, chat, "два", at=AT + timedelta(minutes=1))
    send_message(student, chat, "три", at=AT + timedelta(minutes=2))
    assert unread_count(student, chat) == 2  # one's own messages are never unread
    assert unread_count(classmate, chat) == 3
    assert unread_count(s.teacher, chat) == 1
    mark_read(classmate, chat, a.pk)
    assert unread_count(classmate, chat) == 2
    mark_read(classmate, chat)
    assert unread_count(classmate, chat) == 0
    # Read state never goes back, and a deleted message is not waiting to be read.
    mark_read(classmate, chat, a.pk)
    assert unread_count(classmate, chat) == 0
    last = send_message(s.teacher, chat, "четыре", at=AT + timedelta(minutes=3))
    delete_message(last, by=s.teacher, at=AT + timedelta(minutes=4))
    assert unread_count(student, chat) == 2
    (listed,) = conversations_of(student)
    assert (listed.conversation, listed.unread) == (chat, 2)  # type: ignore[attr-defined]


def test_service_notices_are_shown_but_skipped_by_the_report(s, chat):
    send_message(s.teacher, chat, "раз", at=AT)
    send_message(s.teacher, chat, "два", at=AT)
    add_members(chat, [s.colleague], by=s.teacher, at=AT)
    post_service_notice(chat, s.teacher, ServiceNotice.CALL_STARTED, at=AT)
    remove_member(chat, s.colleague, by=s.colleague, at=AT)
    kinds = list(chat.messages.filter(is_service=True).values_list("service_kind", flat=True))
    assert kinds == ["joined", "call_started", "left"]
    r = row(s.org)
    assert (r["messages"], r["teachers_3_messages"]) == (2, 0)
    send_message(s.teacher, chat, "три", at=AT)
    assert (row(s.org)["messages"], row(s.org)["teachers_3_messages"]) == (3, 1)
    assert tallies.stored() == tallies.recount()


def test_a_channel_does_not_announce_its_readers(s):
    channel = create_conversation(
        s.admin, s.org, title="Новости школы", kind="channel", purpose="info", at=AT
    )
    join_channel(s.students[0], channel, at=AT)
    add_members(channel, [s.colleague], by=s.admin, at=AT)
    assert channel.members.count() == 3
    assert not channel.messages.exists()


def test_messages_written_here_appear_in_the_report_as_the_spec_counts(s, chat):
    """Week boundaries in Krasnoyarsk time, teachers only while teachers, chats cumulative."""
    staff_chat = create_conversation(
        s.admin, s.org, title="Учительская", purpose=Conversation.Purpose.STAFF, at=AT
    )
    add_members(staff_chat, [s.colleague], by=s.admin, at=AT)
    monday = local("2026-11-16 00:00")
    for i in range(10):
        send_message(s.teacher, chat, f"урок {i}", at=monday + timedelta(hours=i))
    for i in range(3):
        send_message(s.colleague, staff_chat, f"план {i}", at=monday + timedelta(days=6, hours=i))
    send_message(s.colleague, staff_chat, "Sunday 23:59:59", at=monday - timedelta(seconds=1))
    for i in range(5):
        send_message(s.students[0], chat, f"вопрос {i}", at=monday + timedelta(days=1))
    # Edited and deleted messages keep counting; service notices never do.
    first = chat.messages.filter(author=s.teacher).first()
    edit_message(first, "урок 0 (исправлено)", by=s.teacher, at=monday + timedelta(days=2))
    delete_message(first, by=s.teacher, at=monday + timedelta(days=2))
    r = row(s.org)
    assert r["active"] is True
    assert r["teachers"] == 2  # the admin is not a teacher
    assert r["messages"] == 18
    assert (r["teachers_3_messages"], r["teachers_10_messages"]) == (2, 1)
    # The class chat was made by a teacher; the staff chat by an admin without that role.
    assert (r["chats"], r["teachers_with_chat"]) == (2, 1)
    assert row(s.org, Week(2026, 46))["messages"] == 1

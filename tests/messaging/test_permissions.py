"""Who may create, join, write and moderate follows the roles held at that moment."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from parta.accounts.services import revoke_role
from parta.messaging.models import Conversation, ConversationMember, Message
from parta.messaging.selectors import member_ids
from parta.messaging.services import (
    add_members,
    create_conversation,
    delete_message,
    join_channel,
    remove_member,
    send_message,
    set_member_role,
    set_read_only,
    start_direct_chat,
)
from tests.factories import local

pytestmark = pytest.mark.django_db
AT = local("2026-11-16 09:00")


def class_chat(s):
    return create_conversation(
        s.teacher,
        s.org,
        title="5А",
        purpose=Conversation.Purpose.CLASS,
        school_class=s.five_a,
        at=AT,
    )


def test_class_chat_brings_in_the_class_in_one_step(s):
    chat = class_chat(s)
    assert sorted(member_ids(chat)) == sorted([s.teacher.pk] + [p.pk for p in s.students])
    owner = ConversationMember.objects.get(conversation=chat, person=s.teacher)
    assert owner.role == ConversationMember.Role.OWNER


def test_parent_chat_is_the_class_teachers_and_brings_in_the_parents(s):
    chat = create_conversation(
        s.teacher,
        s.org,
        title="5А — родители",
        purpose=Conversation.Purpose.PARENTS,
        school_class=s.five_a,
        at=AT,
    )
    assert sorted(member_ids(chat)) == sorted([s.teacher.pk] + [p.pk for p in s.parents])
    with pytest.raises(PermissionDenied, match="классный руководитель"):
        create_conversation(
            s.colleague,
            s.org,
            title="чужие родители",
            purpose=Conversation.Purpose.PARENTS,
            school_class=s.five_a,
            at=AT,
        )
    assert Conversation.objects.count() == 1


def test_students_and_parents_cannot_start_group_chats(s):
    for person in (s.students[0], s.parents[0]):
        with pytest.raises(PermissionDenied, match="не создают групповые чаты"):
            create_conversation(person, s.org, title="наш чат", members=[s.students[1]], at=AT)
    assert not Conversation.objects.exists()


def test_a_student_writes_directly_only_to_people_of_their_school(s, outsider):
    chat = start_direct_chat(s.students[0], s.teacher, s.org, at=AT)
    assert sorted(member_ids(chat)) == sorted([s.students[0].pk, s.teacher.pk])
    # Asking again finds the same chat, from either side.
    assert start_direct_chat(s.teacher, s.students[0], s.org, at=AT) == chat
    with pytest.raises(PermissionDenied, match="не состоит в организации"):
        start_direct_chat(s.students[0], outsider, s.org, at=AT)
    assert Conversation.objects.count() == 1


def test_nobody_from_another_school_creates_or_adds_here(s, outsider, other_school):
    with pytest.raises(PermissionDenied, match="участники организации"):
        create_conversation(outsider, s.org, title="чужой", members=s.students, at=AT)
    # Nor can a teacher here put people of another school in.
    with pytest.raises(PermissionDenied, match="не состоит в организации"):
        create_conversation(s.teacher, s.org, title="смешанный", members=[outsider], at=AT)
    chat = class_chat(s)
    with pytest.raises(PermissionDenied):
        add_members(chat, [s.students[0]], by=outsider, at=AT)
    assert Conversation.objects.count() == 1
    assert len(member_ids(chat)) == 3


def test_a_student_cannot_be_put_in_a_staff_chat(s):
    chat = create_conversation(
        s.admin, s.org, title="Учительская", purpose=Conversation.Purpose.STAFF, at=AT
    )
    with pytest.raises(PermissionDenied, match="нельзя добавить учеников и родителей"):
        add_members(chat, [s.colleague, s.students[0]], by=s.admin, at=AT)
    assert member_ids(chat) == [s.admin.pk]  # the colleague's addition rolled back too
    add_members(chat, [s.colleague, s.staff], by=s.admin, at=AT)
    assert sorted(member_ids(chat)) == sorted([s.admin.pk, s.colleague.pk, s.staff.pk])


def test_a_removed_member_loses_access_at_once(s):
    chat = class_chat(s)
    student = s.students[0]
    send_message(student, chat, "здравствуйте", at=AT)
    remove_member(chat, student, by=s.teacher, at=local("2026-11-16 10:00"))
    with pytest.raises(PermissionDenied, match="только её участники"):
        send_message(student, chat, "а я?", at=local("2026-11-16 10:01"))
    assert student.pk not in member_ids(chat)
    # The leaving is a service notice; the refused message is not stored.
    texts = list(chat.messages.values_list("service_kind", "text"))
    assert texts == [("", "здравствуйте"), ("left", "")]


def test_only_moderators_remove_others_but_anyone_may_leave(s):
    chat = class_chat(s)
    with pytest.raises(PermissionDenied):
        remove_member(chat, s.students[1], by=s.students[0], at=AT)
    remove_member(chat, s.students[0], by=s.students[0], at=AT)
    assert s.students[0].pk not in member_ids(chat)


def test_read_only_chat_admits_only_moderators(s):
    chat = class_chat(s)
    with pytest.raises(PermissionDenied):
        set_read_only(chat, True, by=s.students[0], at=AT)
    set_read_only(chat, True, by=s.admin, at=AT)
    with pytest.raises(PermissionDenied, match="только для чтения"):
        send_message(s.students[0], chat, "можно?", at=AT)
    send_message(s.teacher, chat, "объявление", at=AT)  # the owner still writes
    set_member_role(chat, s.students[0], "moderator", by=s.admin, at=AT)
    send_message(s.students[0], chat, "модератор пишет", at=AT)
    assert list(chat.messages.values_list("text", flat=True)) == [
        "объявление",
        "модератор пишет",
    ]


def test_channel_non_author_reads_but_does_not_post(s):
    channel = create_conversation(
        s.admin,
        s.org,
        title="Новости школы",
        kind=Conversation.Kind.CHANNEL,
        purpose=Conversation.Purpose.INFO,
        at=AT,
    )
    join_channel(s.students[0], channel, at=AT)
    join_channel(s.colleague, channel, at=AT)
    with pytest.raises(PermissionDenied, match="назначенные авторы"):
        send_message(s.colleague, channel, "моя новость", at=AT)
    set_member_role(channel, s.colleague, "author", by=s.admin, at=AT)
    send_message(s.colleague, channel, "моя новость", at=AT)
    with pytest.raises(PermissionDenied):
        set_member_role(channel, s.students[0], "author", by=s.colleague, at=AT)
    assert channel.messages.filter(is_service=False).count() == 1


def test_the_staff_channel_is_closed_to_students(s):
    channel = create_conversation(
        s.admin,
        s.org,
        title="Для сотрудников",
        kind=Conversation.Kind.CHANNEL,
        purpose=Conversation.Purpose.STAFF,
        at=AT,
    )
    with pytest.raises(PermissionDenied):
        join_channel(s.students[0], channel, at=AT)
    join_channel(s.staff, channel, at=AT)
    assert sorted(member_ids(channel)) == sorted([s.admin.pk, s.staff.pk])


def test_students_cannot_create_channels_and_chat_kinds_must_fit(s):
    with pytest.raises(PermissionDenied):
        create_conversation(
            s.students[0], s.org, title="Мой канал", kind=Conversation.Kind.CHANNEL, at=AT
        )
    with pytest.raises(ValidationError, match="назначения"):
        create_conversation(s.admin, s.org, title="x", purpose=Conversation.Purpose.INFO, at=AT)
    assert not Conversation.objects.exists()


def test_roles_are_read_at_the_moment(s):
    revoke_role(s.colleague, s.org, "teacher", at=local("2026-11-10 00:00"))
    with pytest.raises(PermissionDenied):
        create_conversation(s.colleague, s.org, title="поздно", at=AT)
    # Before the role ended the same request was fine.
    chat = create_conversation(s.colleague, s.org, title="вовремя", at=local("2026-11-09 09:00"))
    assert chat.created_by == s.colleague


def test_admins_remove_messages_and_the_removal_is_logged(s):
    from parta.accounts.models import AuditEntry

    chat = class_chat(s)
    message = send_message(s.students[0], chat, "грубость", at=AT)
    with pytest.raises(PermissionDenied):
        delete_message(message, by=s.students[1], at=AT)
    delete_message(message, by=s.admin, at=local("2026-11-16 09:05"))
    message = Message.objects.get(pk=message.pk)
    assert message.deleted_by == s.admin
    entry = AuditEntry.objects.get(action="message_removed")
    assert (entry.actor, entry.subject, entry.details["message"]) == (
        s.admin,
        s.students[0],
        message.pk,
    )

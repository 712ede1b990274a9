"""A person's own notices channel (weekly digests) is theirs alone."""

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from parta.messaging.models import Conversation
from parta.messaging.selectors import may_join
from parta.messaging.services import add_members, join_channel, notices_conversation
from tests.factories import make_member


def test_nobody_else_can_join_or_be_added_to_a_notices_channel(client, school):
    admin = make_member(school, "admin", "Иванова Анна Петровна")
    student = make_member(school, "student", "Соколов Артём")
    colleague = make_member(school, "admin", "Петров Олег Ильич")
    now = timezone.now()
    notices = notices_conversation(admin, school, now)
    assert notices.purpose == Conversation.Purpose.NOTICES
    assert notices_conversation(admin, school, now) == notices  # found again, not made twice
    assert not may_join(student, notices, now)
    assert not may_join(colleague, notices, now)
    with pytest.raises(PermissionDenied):
        join_channel(student, notices)
    with pytest.raises(PermissionDenied):
        add_members(notices, [colleague], by=admin)
    assert list(notices.members.values_list("person_id", flat=True)) == [admin.pk]
    client.force_login(student)
    assert notices.title not in client.get("/messages/").content.decode()

"""A school with a teacher, a student and a chat of theirs; an admin; an outsider."""

from dataclasses import dataclass

import pytest

from parta.accounts.models import Person
from parta.messaging.models import Conversation
from parta.messaging.services import create_conversation
from parta.structure.models import Organization
from tests.factories import local, make_member
from tests.realtime.conftest import close_sync_thread_connections, fresh_channel_layer

__all__ = ["close_sync_thread_connections", "fresh_channel_layer"]


@dataclass
class Cast:
    org: Organization
    admin: Person
    teacher: Person
    student: Person
    colleague: Person  # a teacher of the school, not in the chat
    chat: Conversation


@pytest.fixture
def c(school) -> Cast:
    admin = make_member(school, "admin", "Петров Олег Ильич")
    teacher = make_member(school, "teacher", "Смирнова Елена Викторовна")
    student = make_member(school, "student", "Соколов Артём")
    colleague = make_member(school, "teacher", "Кузнецов Иван Сергеевич")
    chat = create_conversation(
        teacher, school, title="Математика 5А", members=[student], at=local("2026-09-02 09:00")
    )
    return Cast(school, admin, teacher, student, colleague, chat)

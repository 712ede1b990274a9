"""A school with people in every role, for the joining tests."""

from dataclasses import dataclass

import pytest

from parta.accounts import sms
from parta.accounts.models import Person, Role
from parta.accounts.services import enrol_student, grant_role, link_parent
from parta.invites.services import NewInvite, create_invite
from parta.structure.models import Organization, SchoolClass
from tests.caches import clear_cache
from tests.factories import make_class, make_member, make_person


@pytest.fixture(autouse=True)
def clean_limits_and_outbox(settings):
    settings.PARTA_SMS_BACKEND = "parta.accounts.sms.LocmemSmsBackend"
    sms.outbox.clear()
    clear_cache()
    yield
    sms.outbox.clear()
    clear_cache()


@dataclass
class School:
    org: Organization
    class_5a: SchoolClass
    class_6a: SchoolClass
    staff_class: SchoolClass
    admin: Person
    teacher_5a: Person
    teacher_6a: Person
    teacher: Person
    student: Person
    parent: Person
    outsider: Person


@pytest.fixture
def world(school, other_school) -> School:
    class_5a = make_class(school, "5А")
    class_6a = make_class(school, "6А")
    staff_class = make_class(school, "1*У*Учительский", is_staff_class=True)
    admin = make_member(school, Role.ADMIN, "Орлова Анна Сергеевна")
    teacher_5a = make_member(school, Role.TEACHER, "Белов Пётр Ильич")
    teacher_6a = make_member(school, Role.TEACHER, "Соколова Нина Юрьевна")
    teacher = make_member(school, Role.TEACHER, "Кузнецов Олег Петрович")
    class_5a.class_teacher = teacher_5a
    class_5a.save()
    class_6a.class_teacher = teacher_6a
    class_6a.save()
    student = make_member(school, Role.STUDENT, "Петров Иван Олегович")
    enrol_student(student, class_5a)
    parent = make_member(school, Role.PARENT, "Петрова Ольга Ивановна")
    link_parent(parent, student)
    outsider = make_member(other_school, Role.ADMIN, "Чужой Админ Иванович")
    return School(
        org=school,
        class_5a=class_5a,
        class_6a=class_6a,
        staff_class=staff_class,
        admin=admin,
        teacher_5a=teacher_5a,
        teacher_6a=teacher_6a,
        teacher=teacher,
        student=student,
        parent=parent,
        outsider=outsider,
    )


def make_link(world: School, kind: str, actor: Person | None = None, **options) -> NewInvite:
    """kind: "teacher" (to the teachers' class), "student" (5А), "parent" (of the 5А student)."""
    actor = actor or world.admin
    if kind == "teacher":
        return create_invite(
            world.org, Role.TEACHER, actor=actor, school_class=world.staff_class, **options
        )
    if kind == "student":
        return create_invite(
            world.org, Role.STUDENT, actor=actor, school_class=world.class_5a, **options
        )
    return create_invite(world.org, Role.PARENT, actor=actor, child=world.student, **options)


@pytest.fixture
def newcomer(db) -> Person:
    return make_person("Новикова Дарья Андреевна")


def grant(person: Person, org: Organization, role: str) -> None:
    grant_role(person, org, role)


JOIN_URL = "http://testserver/join/#"


def token_on_page(html: str) -> str:
    """The token of the invite link a page shows in full (the new-link page)."""
    start = html.index(JOIN_URL) + len(JOIN_URL)
    return html[start : html.index('"', start)]

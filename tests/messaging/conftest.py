"""A school with a class, its students and parents, staff, and a second school."""

from dataclasses import dataclass

import pytest
from channels.layers import channel_layers

from parta.accounts.models import ClassEnrolment, ParentLink, Person
from parta.structure.models import Organization, SchoolClass
from tests.factories import local, make_class, make_member


@dataclass
class School:
    org: Organization
    admin: Person
    teacher: Person  # class teacher of 5А
    colleague: Person  # another teacher
    staff: Person
    five_a: SchoolClass
    students: list[Person]
    parents: list[Person]


def enrol(student: Person, school_class: SchoolClass) -> None:
    ClassEnrolment.objects.create(
        student=student, school_class=school_class, valid_from=local("2026-09-01 00:00")
    )


@pytest.fixture
def s(school) -> School:
    admin = make_member(school, "admin", "Петров Олег Ильич")
    teacher = make_member(school, "teacher", "Смирнова Елена Викторовна")
    colleague = make_member(school, "teacher", "Кузнецов Иван Сергеевич")
    staff = make_member(school, "staff", "Орлова Вера Ивановна")
    five_a = make_class(school, "5А", class_teacher=teacher)
    students, parents = [], []
    for child, parent in [
        ("Соколов Артём", "Соколова Ирина Павловна"),
        ("Белова Дарья", "Белов Пётр Ильич"),
    ]:
        student = make_member(school, "student", child)
        enrol(student, five_a)
        mother = make_member(school, "parent", parent)
        ParentLink.objects.create(parent=mother, child=student)
        students.append(student)
        parents.append(mother)
    return School(school, admin, teacher, colleague, staff, five_a, students, parents)


@pytest.fixture
def outsider(other_school) -> Person:
    return make_member(other_school, "teacher", "Чужой Учитель Иванович")


@pytest.fixture(autouse=True)
def fresh_channel_layer():
    """No channel-layer group outlives the test that made it."""
    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    """Uploads of every messaging test go to its own folder."""
    settings.MEDIA_ROOT = tmp_path
    return tmp_path

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from parta.accounts.models import AuditEntry, Role
from parta.accounts.selectors import class_at
from parta.accounts.services import enrol_student, move_student
from parta.schools.services import (
    create_class,
    create_classes,
    staffing_plan_names,
    update_class,
)
from parta.structure.models import SchoolClass
from tests.factories import make_class, make_member


@pytest.fixture
def admin(school):
    return make_member(school, Role.ADMIN, "Орлова Анна Сергеевна")


def test_a_range_gives_every_grade_and_letter():
    names = staffing_plan_names("1А–11В")
    assert len(names) == 33
    assert names[:4] == ["1А", "1Б", "1В", "2А"] and names[-1] == "11В"


def test_a_list_of_items_and_lowercase_letters():
    assert staffing_plan_names("1а-2б; 10А, 11, 10а") == ["1А", "1Б", "2А", "2Б", "10А", "11"]


@pytest.mark.parametrize(
    ("plan", "message"),
    [
        ("", "Укажите классы"),
        ("12А", "с 1 по 11"),
        ("5В–5А", "не позже конца"),
        ("5Q", "не из русского алфавита"),
        ("Кружок", "не похоже на класс"),
        ("1А–11Я", "Слишком много классов"),
    ],
)
def test_bad_plans_are_explained(plan, message):
    with pytest.raises(ValidationError) as caught:
        staffing_plan_names(plan)
    assert message in caught.value.messages[0]


def test_bulk_creation_with_the_teachers_class_skips_existing(school, admin):
    make_class(school, "1А", academic_year=2026)
    result = create_classes(school, "1А–2Б", actor=admin, academic_year=2026, with_staff_class=True)
    assert [c.name for c in result.created] == ["1*У*Учительский", "1Б", "2А", "2Б"]
    assert result.existing == ["1А"]
    staff = SchoolClass.objects.get(organization=school, name="1*У*Учительский")
    assert (staff.is_staff_class, staff.academic_year) == (True, 2026)
    entry = AuditEntry.objects.get(action="class.created_in_bulk")
    assert entry.details["classes"] == ["1*У*Учительский", "1Б", "2А", "2Б"]


def test_bad_plan_stores_nothing(school, admin):
    with pytest.raises(ValidationError):
        create_classes(school, "1А–2Б, 13А", actor=admin, academic_year=2026)
    assert not SchoolClass.objects.filter(organization=school).exists()


def test_only_admins_build_the_structure(school):
    teacher = make_member(school, Role.TEACHER, "Учитель Иван Иванович")
    with pytest.raises(PermissionDenied):
        create_classes(school, "1А", actor=teacher, academic_year=2026)
    with pytest.raises(PermissionDenied):
        create_class(school, "1А", actor=teacher)
    assert not SchoolClass.objects.exists()


def test_one_class_and_its_class_teacher(school, admin):
    teacher = make_member(school, Role.TEACHER, "Белов Пётр Ильич")
    school_class = create_class(school, " 5А ", actor=admin, academic_year=2026)
    assert (school_class.name, school_class.grade, school_class.letter) == ("5А", 5, "А")
    with pytest.raises(ValidationError):
        create_class(school, "5А", actor=admin, academic_year=2026)
    with pytest.raises(ValidationError):
        update_class(
            school_class,
            actor=admin,
            name="5А",
            academic_year=2026,
            class_teacher=admin,
            is_staff_class=False,
        )
    update_class(
        school_class,
        actor=admin,
        name="5А",
        academic_year=2026,
        class_teacher=teacher,
        is_staff_class=False,
    )
    school_class.refresh_from_db()
    assert school_class.class_teacher == teacher
    assert AuditEntry.objects.get(action="class.updated").details["changes"] == {
        "class_teacher": [None, teacher.pk]
    }


def test_moving_a_student(school, admin):
    class_5a, class_5b = make_class(school, "5А"), make_class(school, "5Б")
    student = make_member(school, Role.STUDENT, "Петров Иван Олегович")
    enrol_student(student, class_5a, at=timezone.now() - timedelta(days=1))
    move_student(student, class_5b, actor=admin)
    assert class_at(student, timezone.now()) == class_5b
    entry = AuditEntry.objects.get(action="student.moved")
    assert (entry.details["from_class"], entry.details["to_class"]) == ("5А", "5Б")
    with pytest.raises(ValidationError):
        move_student(admin, class_5b, actor=admin)


def test_classes_page_creates_a_staffing_plan(client, school, admin):
    client.force_login(admin)
    url = reverse("structure:classes", args=[school.pk])
    response = client.post(url, {"plan": "1А–11В", "academic_year": 2026, "with_staff_class": "on"})
    assert response.status_code == 302
    assert SchoolClass.objects.filter(organization=school).count() == 34
    page = client.get(url).content.decode()
    assert "1*У*Учительский" in page and "11В" in page

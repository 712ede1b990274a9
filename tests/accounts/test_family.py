"""Students in classes over time, and parents linked to their children."""

from datetime import datetime, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from parta.accounts.models import ClassEnrolment, ParentLink
from parta.accounts.selectors import class_at, parents_of, students_in_class
from parta.accounts.services import enrol_student, link_parent
from tests.factories import local, make_class, make_person

US = timedelta(microseconds=1)


@pytest.fixture
def student(db):
    return make_person("Петров Илья Сергеевич")


@pytest.fixture
def class_5a(school):
    return make_class(school, "5А")


@pytest.fixture
def class_5b(school):
    return make_class(school, "5Б")


def enrolments(student) -> list[tuple[str, datetime, datetime | None]]:
    return [
        (e.school_class.name, e.valid_from, e.valid_to)
        for e in ClassEnrolment.objects.filter(student=student).order_by("valid_from")
    ]


# --- enrolment ----------------------------------------------------------------------------


def test_enrolling_puts_the_student_in_the_class_from_that_moment(student, class_5a):
    enrolment = enrol_student(student, class_5a, at=local("2026-09-01 08:00"))

    assert (enrolment.school_class, enrolment.valid_from, enrolment.valid_to) == (
        class_5a,
        local("2026-09-01 08:00"),
        None,
    )
    assert class_at(student, local("2026-09-01 08:00") - US) is None
    assert class_at(student, local("2026-09-01 08:00")) == class_5a
    assert [p.full_name for p in students_in_class(class_5a, local("2026-10-01 00:00"))] == [
        "Петров Илья Сергеевич"
    ]


def test_moving_closes_the_old_enrolment_and_leaves_exactly_one_current(
    student, class_5a, class_5b
):
    enrol_student(student, class_5a, at=local("2026-09-01 08:00"))

    moved = enrol_student(student, class_5b, at=local("2026-11-18 12:00"))

    assert moved.school_class == class_5b
    assert enrolments(student) == [
        ("5А", local("2026-09-01 08:00"), local("2026-11-18 12:00")),
        ("5Б", local("2026-11-18 12:00"), None),
    ]
    assert ClassEnrolment.objects.filter(student=student, valid_to__isnull=True).count() == 1
    assert class_at(student, local("2026-11-18 12:00") - US) == class_5a
    assert class_at(student, local("2026-11-18 12:00")) == class_5b
    assert list(students_in_class(class_5a, local("2026-11-20 00:00"))) == []
    assert list(students_in_class(class_5b, local("2026-11-20 00:00"))) == [student]


def test_enrolling_again_in_the_current_class_changes_nothing(student, class_5a):
    first = enrol_student(student, class_5a, at=local("2026-09-01 08:00"))

    again = enrol_student(student, class_5a, at=local("2026-11-18 12:00"))

    assert again.pk == first.pk
    assert enrolments(student) == [("5А", local("2026-09-01 08:00"), None)]


@pytest.mark.parametrize("at", ["2026-09-01 08:00", "2026-08-25 08:00"], ids=["same", "earlier"])
def test_a_move_not_after_the_enrolment_is_refused(student, class_5a, class_5b, at):
    enrol_student(student, class_5a, at=local("2026-09-01 08:00"))

    with pytest.raises(ValidationError) as refused:
        enrol_student(student, class_5b, at=local(at))

    assert refused.value.code == "move_before_enrolment"
    shown = local(at).strftime("%d.%m.%Y %H:%M:%S")
    assert refused.value.message == (
        f"Петров Илья Сергеевич: перевод в класс 5Б на {shown} невозможен — в классе 5А "
        "ученик числится только с 01.09.2026 08:00:00. Перевод должен быть позже зачисления."
    )
    assert enrolments(student) == [("5А", local("2026-09-01 08:00"), None)]


def test_an_enrolment_over_closed_history_is_refused_and_an_adjacent_one_allowed(
    student, class_5a, class_5b
):
    # A finished year, as an import leaves it: closed, and no current class.
    ClassEnrolment.objects.create(
        student=student,
        school_class=class_5a,
        valid_from=local("2026-09-01 08:00"),
        valid_to=local("2026-11-18 12:00"),
    )

    with pytest.raises(ValidationError) as refused:
        enrol_student(student, class_5b, at=local("2026-10-01 08:00"))

    assert refused.value.code == "enrolment_overlap"
    assert refused.value.message == (
        "Петров Илья Сергеевич на 01.10.2026 08:00:00 уже числится в классе 5А "
        "(до 18.11.2026 12:00:00); зачисление задним числом переписало бы историю."
    )
    assert enrolments(student) == [("5А", local("2026-09-01 08:00"), local("2026-11-18 12:00"))]

    enrol_student(student, class_5b, at=local("2026-11-18 12:00"))

    assert enrolments(student) == [
        ("5А", local("2026-09-01 08:00"), local("2026-11-18 12:00")),
        ("5Б", local("2026-11-18 12:00"), None),
    ]


def test_a_naive_enrolment_time_is_refused(student, class_5a):
    with pytest.raises(ValidationError) as refused:
        enrol_student(student, class_5a, at=datetime(2026, 9, 1, 8))

    assert refused.value.code == "naive_datetime"
    assert ClassEnrolment.objects.count() == 0


def test_the_database_allows_one_current_class_per_student(student, class_5a, class_5b):
    enrol_student(student, class_5a, at=local("2026-09-01 08:00"))

    with pytest.raises(IntegrityError), transaction.atomic():
        ClassEnrolment.objects.create(
            student=student, school_class=class_5b, valid_from=local("2026-10-01 08:00")
        )
    assert ClassEnrolment.objects.count() == 1


@pytest.mark.parametrize(
    "until", ["2026-09-01 08:00", "2026-08-01 08:00"], ids=["equal", "inverted"]
)
def test_the_database_refuses_an_empty_or_inverted_enrolment(student, class_5a, until):
    with pytest.raises(IntegrityError), transaction.atomic():
        ClassEnrolment.objects.create(
            student=student,
            school_class=class_5a,
            valid_from=local("2026-09-01 08:00"),
            valid_to=local(until),
        )
    assert ClassEnrolment.objects.count() == 0


# --- parents ------------------------------------------------------------------------------


def test_a_parent_is_linked_to_each_child_and_a_child_may_have_two_parents(student):
    mother = make_person("Петрова Анна Ивановна")
    father = make_person("Петров Сергей Олегович")
    sister = make_person("Петрова Ольга Сергеевна")

    link_parent(mother, student)
    link_parent(father, student)
    link_parent(mother, sister)

    assert sorted(p.full_name for p in parents_of(student)) == [
        "Петров Сергей Олегович",
        "Петрова Анна Ивановна",
    ]
    assert [p.full_name for p in parents_of(sister)] == ["Петрова Анна Ивановна"]
    assert not ParentLink.objects.filter(parent=student).exists()


def test_linking_twice_returns_the_same_link(student):
    mother = make_person("Петрова Анна Ивановна")

    first = link_parent(mother, student)
    again = link_parent(mother, student)

    assert again.pk == first.pk
    assert ParentLink.objects.count() == 1


def test_a_person_cannot_be_their_own_parent(student):
    with pytest.raises(ValidationError) as refused:
        link_parent(student, student)

    assert refused.value.code == "self_parent"
    assert refused.value.message == "Петров Илья Сергеевич не может быть родителем самому себе."
    assert ParentLink.objects.count() == 0


def test_the_database_refuses_self_parenting_even_bypassing_the_service(student):
    with pytest.raises(IntegrityError), transaction.atomic():
        ParentLink.objects.create(parent=student, child=student)
    assert ParentLink.objects.count() == 0
    with pytest.raises(ValidationError, match="не может быть родителем самому себе"):
        ParentLink(parent=student, child=student).full_clean()


def test_the_database_refuses_a_duplicate_link(student):
    mother = make_person("Петрова Анна Ивановна")
    link_parent(mother, student)

    with pytest.raises(IntegrityError), transaction.atomic():
        ParentLink.objects.create(parent=mother, child=student)
    assert ParentLink.objects.count() == 1

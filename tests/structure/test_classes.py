import pytest

from parta.structure.models import SchoolClass, parse_class_name
from tests.factories import make_class


@pytest.mark.parametrize(
    ("name", "grade", "letter"),
    [
        ("5А", 5, "А"),
        ("10Б", 10, "Б"),
        ("10 Б", 10, "Б"),
        ("5-А", 5, "А"),
        ("5–А", 5, "А"),
        (" 7 В ", 7, "В"),
        ("11", 11, ""),
        ("1*У*Учительский", 1, "*У*Учительский"),
    ],
)
def test_class_name_gives_grade_and_letter(name, grade, letter):
    assert parse_class_name(name) == (grade, letter)


@pytest.mark.parametrize("name", ["", "   ", "Учительская", "А5", "0А", "12А", "123", "-5А"])
def test_name_without_a_grade_from_1_to_11_gives_none(name):
    assert parse_class_name(name) == (None, "")


@pytest.mark.django_db
def test_saving_a_class_fills_grade_and_letter_from_its_name(school):
    school_class = make_class(school, "10Б")
    school_class.refresh_from_db()
    assert (school_class.grade, school_class.letter, school_class.is_staff_class) == (
        10,
        "Б",
        False,
    )

    school_class.name = "11Б"
    school_class.save()
    school_class.refresh_from_db()
    assert (school_class.grade, school_class.letter) == (11, "Б")


@pytest.mark.django_db
def test_teachers_class_keeps_its_flag_and_comes_first(school):
    make_class(school, "1А")
    make_class(school, "5А")
    staff_class = make_class(school, "1*У*Учительский", is_staff_class=True)
    staff_class.refresh_from_db()
    assert staff_class.is_staff_class is True
    assert (staff_class.grade, staff_class.letter) == (1, "*У*Учительский")
    names = list(SchoolClass.objects.filter(organization=school).values_list("name", flat=True))
    assert names == ["1*У*Учительский", "1А", "5А"]


@pytest.mark.django_db
def test_class_with_a_bad_name_is_stored_without_grade(school):
    school_class = make_class(school, "Кружок робототехники")
    school_class.refresh_from_db()
    assert (school_class.grade, school_class.letter) == (None, "")

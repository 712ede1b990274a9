from datetime import datetime

import pytest
from django.apps import apps
from django.core.management import CommandError, call_command
from django.test import override_settings

from parta.accounts.models import ClassEnrolment, ParentLink, Person, Role, RoleGrant
from parta.accounts.phones import normalize_phone
from parta.accounts.selectors import holds_role, roles_at
from parta.demo import services as demo
from parta.demo.authority import seed_authority_profile
from parta.messaging.letters import letters_channel
from parta.messaging.models import Conversation
from parta.structure.models import Organization, SchoolClass
from parta.structure.validators import validate_inn, validate_kpp, validate_ogrn
from tests.demo.conftest import NOW

# Mid-term, local time: every demo role started on 2026-09-01.
DURING_TERM = datetime.fromisoformat("2026-11-16T12:00:00+07:00")


def _row_counts() -> dict[str, int]:
    return {model._meta.label: model._default_manager.count() for model in apps.get_models()}


@pytest.fixture
def seeded(seeded_district):
    return seeded_district.demo


@pytest.fixture
def schools(seeded, db):
    return list(Organization.objects.filter(kind=Organization.Kind.SCHOOL).order_by("id"))


def test_builds_the_district_of_the_letter(seeded, db):
    assert (seeded.region.name, seeded.region.code, seeded.region.time_zone) == (
        "Красноярский край", "24", "Asia/Krasnoyarsk",
    )  # fmt: skip
    assert seeded.district.name == "Мотыгинский район"
    authority = Organization.objects.get(kind=Organization.Kind.AUTHORITY)
    assert authority.full_name == "МКУ «Управление образования Мотыгинского района»"
    assert (authority.inn, authority.kpp, authority.ogrn) == (
        "2426001487", "242601001", "1022401506346",
    )  # fmt: skip
    assert authority.address == "Шоссейная ул., 50, п. Мотыгино, 663400"


def test_ten_schools_with_valid_registration_numbers_and_an_application_phone(schools):
    assert len(schools) == 10
    assert "МБОУ Мотыгинская СОШ №1" in {school.full_name for school in schools}
    assert len({school.inn for school in schools}) == 10
    assert len({school.ogrn for school in schools}) == 10
    for school in schools:
        validate_inn(school.inn)
        validate_ogrn(school.ogrn)
        validate_kpp(school.kpp)
        assert school.admin_application_phone == normalize_phone(school.admin_application_phone)
        admin = Person.objects.get(phone=school.admin_application_phone)
        assert holds_role(admin, school, Role.ADMIN, DURING_TERM)


def test_classes_from_first_grade_and_the_teachers_class(schools):
    first = next(school for school in schools if school.full_name == "МБОУ Мотыгинская СОШ №1")
    names = set(first.classes.values_list("name", flat=True))
    assert {"1А", "1Б", "5А", "11А", "11Б", "1*У*Учительский"} <= names
    assert len(names) == 23
    for school in schools:
        classes = school.classes.all()
        assert classes.filter(is_staff_class=True, name="1*У*Учительский").count() == 1
        grades = set(classes.filter(is_staff_class=False).values_list("grade", flat=True))
        assert grades in ({*range(1, 12)}, {*range(1, 10)}), school
        assert all(c.academic_year == 2026 for c in classes)
        # every class but the teachers' own is led by one of the school's teachers
        for school_class in classes.filter(is_staff_class=False):
            assert holds_role(school_class.class_teacher, school, Role.TEACHER, DURING_TERM)


def test_people_counts_are_plausible(schools):
    for school in schools:
        teachers = RoleGrant.objects.filter(organization=school, role=Role.TEACHER).count()
        assert 15 <= teachers <= 30, school
        students = RoleGrant.objects.filter(organization=school, role=Role.STUDENT).count()
        classes = school.classes.filter(is_staff_class=False).count()
        assert 5 * classes <= students <= 8 * classes, school
    assert ClassEnrolment.objects.count() == RoleGrant.objects.filter(role=Role.STUDENT).count()
    # every student has a parent, and parents are parents in their child's school
    enrolled = Person.objects.filter(role_grants__role=Role.STUDENT)
    assert not enrolled.filter(parent_links__isnull=True).exists()
    for link in ParentLink.objects.select_related("child")[:200]:
        school = link.child.enrolments.get().school_class.organization
        assert holds_role(link.parent, school, Role.PARENT, DURING_TERM)
        assert link.parent.surname[:4] == link.child.surname[:4]


def test_roles_start_with_the_academic_year_local_time(seeded, db):
    starts = set(RoleGrant.objects.values_list("valid_from", flat=True).distinct())
    assert starts == {datetime.fromisoformat("2026-09-01T00:00:00+07:00")}
    assert not RoleGrant.objects.filter(valid_to__isnull=False).exists()
    # every role went through grant_role, which writes the audit entry
    assert (
        RoleGrant.objects.count()
        == apps.get_model("accounts", "AuditEntry").objects.filter(action="role.granted").count()
    )


def test_every_school_has_an_admin_who_does_not_teach_and_a_head_who_does(schools):
    for school in schools:
        admins = Person.objects.filter(
            role_grants__organization=school, role_grants__role=Role.ADMIN
        ).distinct()
        role_sets = [roles_at(admin, school, DURING_TERM) for admin in admins]
        assert {Role.ADMIN.value} in role_sets, school
        assert {Role.ADMIN.value, Role.TEACHER.value} in role_sets, school


def test_heads_are_teachers_of_the_authority(seeded, db, schools):
    authority = seeded.authority
    teachers_there = set(
        RoleGrant.objects.filter(organization=authority, role=Role.TEACHER).values_list(
            "person_id", flat=True
        )
    )
    heads = set()
    for school in schools:
        head = Person.objects.get(external_id=f"demo:{school.external_id[len('demo:org:') :]}:head")
        assert roles_at(head, school, DURING_TERM) == {Role.ADMIN, Role.TEACHER}
        assert school.head_full_name == head.full_name
        heads.add(head.pk)
    assert teachers_there == heads


def test_well_known_phones_answer_as_printed(seeded, db):
    first = Organization.objects.get(full_name="МБОУ Мотыгинская СОШ №1")
    by_phone = {p.phone: p for p in Person.objects.filter(phone__startswith="+7913900000")}
    assert roles_at(by_phone[demo.PHONE_SCHOOL_ADMIN], first, DURING_TERM) == {Role.ADMIN}
    assert roles_at(by_phone[demo.PHONE_HEAD], first, DURING_TERM) == {Role.ADMIN, Role.TEACHER}
    teacher = by_phone[demo.PHONE_TEACHER]
    assert SchoolClass.objects.get(organization=first, name="5А").class_teacher == teacher
    student = by_phone[demo.PHONE_STUDENT]
    assert student.enrolments.get().school_class.name == "5А"
    assert ParentLink.objects.filter(parent=by_phone[demo.PHONE_PARENT], child=student).exists()
    assert roles_at(by_phone[demo.PHONE_AUTHORITY], seeded.authority, DURING_TERM) == {
        Role.ADMIN, Role.STAFF,
    }  # fmt: skip
    operator = by_phone[demo.PHONE_OPERATOR]
    assert operator.is_staff and operator.is_superuser
    assert not operator.has_usable_password()
    assert [s.phone for s in demo.demo_sign_ins()] == [
        demo.PHONE_SCHOOL_ADMIN, demo.PHONE_HEAD, demo.PHONE_TEACHER, demo.PHONE_STUDENT,
        demo.PHONE_PARENT, demo.PHONE_AUTHORITY, demo.PHONE_OPERATOR,
    ]  # fmt: skip


def test_every_phone_is_a_real_e164_number_and_young_children_have_none(seeded, db):
    phones = [phone for phone in Person.objects.values_list("phone", flat=True) if phone]
    assert len(phones) > 1500
    assert all(normalize_phone(phone) == phone for phone in phones)
    young = ClassEnrolment.objects.filter(school_class__grade__lt=5).values("student")
    assert not Person.objects.filter(pk__in=young, phone__isnull=False).exists()


def test_names_are_deterministic(seeded, db):
    head = Person.objects.get(phone=demo.PHONE_HEAD)
    names = demo.NameSource(demo._generator("s01"))
    names.person(names.sex())  # the admin is drawn first
    expected = names.person(names.sex())
    assert (head.surname, head.name, head.patronymic) == (
        expected.surname, expected.name, expected.patronymic,
    )  # fmt: skip


def test_second_run_changes_nothing(seeded, db):
    before = _row_counts()
    phones_before = sorted(Person.objects.values_list("external_id", "phone", "surname"))
    demo.seed_demo(NOW)
    assert _row_counts() == before
    assert sorted(Person.objects.values_list("external_id", "phone", "surname")) == phones_before


def test_command_prints_the_sign_ins(seeded, db, capsys):
    with override_settings(DEBUG=True):
        call_command("seed_demo")
    out = capsys.readouterr().out
    for phone in (demo.PHONE_SCHOOL_ADMIN, demo.PHONE_HEAD, demo.PHONE_TEACHER,
                  demo.PHONE_AUTHORITY, demo.PHONE_OPERATOR):  # fmt: skip
        assert phone in out
    assert "Мотыгинский район" in out


@pytest.mark.django_db
def test_command_refuses_without_debug_and_stores_nothing():
    before = _row_counts()
    with pytest.raises(CommandError, match="DEBUG=1"):
        call_command("seed_demo")
    assert _row_counts() == before


def test_authority_profile_has_its_chats_and_a_letter_for_every_head(seeded, db):
    seed_authority_profile(seeded.authority, seeded.year.starts)
    heads = set(
        RoleGrant.objects.filter(organization=seeded.authority, role=Role.TEACHER).values_list(
            "person_id", flat=True
        )
    )
    assert len(heads) == 10
    for title in ("Первый чат", "Учительская"):
        chat = Conversation.objects.get(organization=seeded.authority, title=title)
        members = set(chat.members.values_list("person_id", flat=True))
        assert heads <= members
        assert chat.messages.filter(is_service=False).count() == 2
    channel = letters_channel(seeded.authority)
    assert channel is not None
    assert heads <= set(channel.members.values_list("person_id", flat=True))
    assert channel.messages.filter(is_service=False).count() == 1
    before = _row_counts()
    seed_authority_profile(seeded.authority, seeded.year.starts)
    assert _row_counts() == before


@pytest.mark.parametrize(
    ("seeded_on", "academic_year", "starts"),
    [
        # Mid-term: the year began on 1 September, before the six past weeks.
        ("2026-11-29T12:00:00+07:00", 2026, "2026-09-01T00:00:00+07:00"),
        # A year later the demo is next year's school, not last year's.
        ("2027-11-29T12:00:00+07:00", 2027, "2027-09-01T00:00:00+07:00"),
        # In the spring the year is the one that began last September.
        ("2027-04-14T09:00:00+07:00", 2026, "2026-09-01T00:00:00+07:00"),
        # Early in the term the past weeks reach into August: roles start on their first Monday.
        ("2027-09-15T10:00:00+07:00", 2027, "2027-08-02T00:00:00+07:00"),
    ],
)
def test_the_demo_is_set_in_the_academic_year_it_is_seeded_in(seeded_on, academic_year, starts):
    year = demo.DemoYear.of(datetime.fromisoformat(seeded_on))
    assert (year.academic_year, year.starts) == (academic_year, datetime.fromisoformat(starts))

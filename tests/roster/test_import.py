"""A school's list of people, as the admin uploads, previews and confirms it."""

import io
from io import StringIO

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from openpyxl import Workbook

from parta.accounts.models import ClassEnrolment, ParentLink, Person, Role, RoleGrant
from parta.accounts.selectors import holds_role
from parta.accounts.services import enrol_student, grant_role
from parta.invites.models import PersonalInvitation
from parta.roster.models import RosterImport
from parta.roster.services import confirm_roster, preview, upload_roster
from parta.structure.models import SchoolClass
from tests.factories import client_for, local, make_class, make_person


def make_member(school, role, name="", *, phone=None, person=None, school_class=None):
    person = person or make_person(name, phone=phone)
    grant_role(person, school, role, valid_from=local("2026-09-01 00:00"))
    if school_class is not None:
        enrol_student(person, school_class, at=local("2026-09-01 00:00"))
    return person


HEADING = "Класс;Фамилия;Имя;Отчество;Роль;Телефон;Ребёнок"
FAMILY = [
    "5А;Иванов;Пётр;Сергеевич;ученик;;",
    "5А;Иванова;Анна;Петровна;родитель;+7 913 123-45-67;Иванов Пётр",
    "5А;Иванов;Сергей;Олегович;родитель;;Иванов Пётр Сергеевич",
    "5Б;Смирнова;Ольга;;ученица;;",
    ";Петрова;Мария;Ивановна;учитель;8 (913) 765-43-21;",
]


def csv(*lines: str, encoding: str = "utf-8") -> bytes:
    return "\n".join([HEADING, *lines]).encode(encoding)


@pytest.fixture
def admin(school):
    return make_member(school, Role.ADMIN, "Сидорова Елена Викторовна", phone="+79990000001")


@pytest.fixture
def classes(school):
    return {name: make_class(school, name) for name in ("5А", "5Б")}


def upload(school, admin, content, **options):
    return upload_roster(school, "список.csv", content, by=admin, **options)


def confirmed(school, admin, content, **options):
    roster_import = upload(school, admin, content, **options)
    return confirm_roster(roster_import, by=admin, digest=preview(roster_import).digest())


def test_preview_counts_what_will_be_created_and_stores_nothing(school, admin, classes):
    plan = preview(upload(school, admin, csv(*FAMILY)))
    summary = plan.summary()
    assert summary["bad_rows"] == 0
    assert summary["new_people"] == 5
    assert (summary["new_students"], summary["new_parents"], summary["new_teachers"]) == (2, 2, 1)
    assert summary["invitations"] == 5
    assert Person.objects.count() == 1  # the admin
    assert PersonalInvitation.objects.count() == 0


def test_confirm_creates_people_and_invitations_but_no_roles_before_joining(school, admin, classes):
    confirmed(school, admin, csv(*FAMILY))
    teacher = Person.objects.get(surname="Петрова")
    assert teacher.phone == "+79137654321"
    # Nobody is a teacher of the school (the indicators' denominator) before joining.
    assert not RoleGrant.objects.filter(person=teacher).exists()
    invitation = PersonalInvitation.objects.get(person=teacher)
    assert invitation.role == Role.TEACHER
    child = Person.objects.get(surname="Иванов", name="Пётр")
    parents = PersonalInvitation.objects.filter(role=Role.PARENT).order_by("person__name")
    assert [(i.person.name, i.child, i.school_class) for i in parents] == [
        ("Анна", child, classes["5А"]),
        ("Сергей", child, classes["5А"]),
    ]
    student = PersonalInvitation.objects.get(person=child)
    assert (student.role, student.school_class) == (Role.STUDENT, classes["5А"])
    assert RosterImport.objects.get().status == RosterImport.Status.CONFIRMED


def test_the_same_file_again_changes_nothing(school, admin, classes):
    confirmed(school, admin, csv(*FAMILY))
    before = (Person.objects.count(), PersonalInvitation.objects.count())
    again = upload(school, admin, csv(*FAMILY))
    plan = preview(again)
    assert not plan.has_changes
    assert plan.summary()["unchanged"] == 5
    confirm_roster(again, by=admin, digest=plan.digest())
    assert (Person.objects.count(), PersonalInvitation.objects.count()) == before


def test_windows_1251_with_semicolons_reads_like_utf8(school, admin, classes):
    plan = preview(upload(school, admin, csv(*FAMILY, encoding="cp1251")))
    assert plan.summary()["new_people"] == 5
    assert not plan.bad_rows


def test_xlsx_is_read_by_its_headings_in_any_order(school, admin, classes):
    book = Workbook()
    sheet = book.worksheets[0]
    sheet.append(["Список обучающихся МБОУ СОШ №1"])  # a title above the table
    sheet.append(["ФИО", "Роль", "Класс", "Телефон"])
    sheet.append(["Смирнова Ольга", "ученик", "5 б", 79131112233])
    buffer = io.BytesIO()
    book.save(buffer)
    plan = preview(upload(school, admin, buffer.getvalue()))
    assert not plan.bad_rows
    [entry] = plan.new_people
    assert (entry.surname, entry.name, entry.phone) == ("Смирнова", "Ольга", "+79131112233")


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("5Г;Козлов;Иван;;ученик;;", "В школе нет класса «5Г»"),
        ("5А;Козлов;Иван;;директор;;", "Роль «директор» непонятна"),
        ("5А;Козлов;Иван;;ученик;12345;", "Телефон «12345»"),
        ("5А;Козлова;Нина;;родитель;;Козлов Иван", "Ребёнка «Козлов Иван» нет в файле"),
        ("5А;Козлова;Нина;;родитель;;", "не указан ребёнок"),
        ("5А;;Иван;;ученик;;", "Нужны фамилия и имя"),
        ("5А;Иванов;Пётр;Сергеевич;ученик;;", "Повторяет строку 2"),
        ("5Б;Волков;Олег;;ученик;+79131234567;", "уже указан в строке 3"),
    ],
)
def test_a_bad_row_is_refused_with_its_number_and_nothing_is_stored(
    school, admin, classes, line, reason
):
    roster_import = upload(school, admin, csv(*FAMILY, line))
    plan = preview(roster_import)
    [bad] = plan.bad_rows
    assert bad.number == len(FAMILY) + 2
    assert reason in bad.reason
    with pytest.raises(ValidationError) as refused:
        confirm_roster(roster_import, by=admin, digest=plan.digest())
    assert refused.value.code == "bad_rows"
    assert Person.objects.count() == 1
    assert PersonalInvitation.objects.count() == 0


def test_missing_classes_are_created_when_asked(school, admin, classes):
    confirmed(school, admin, csv(*FAMILY, "5г;Козлов;Иван;;ученик;;"), create_classes=True)
    assert SchoolClass.objects.filter(organization=school, name="5Г").count() == 1


def test_a_phone_of_another_person_is_a_bad_row(school, admin, classes):
    make_person("Орлова Вера Павловна", phone="+79137654321")
    plan = preview(upload(school, admin, csv(*FAMILY)))
    [bad] = plan.bad_rows
    assert (bad.number, "принадлежит другому человеку" in bad.reason) == (6, True)


def test_a_moved_member_student_changes_class_and_keeps_history(school, admin, classes):
    confirmed(school, admin, csv(FAMILY[3]))
    olga = Person.objects.get(surname="Смирнова")
    make_member(school, Role.STUDENT, person=olga, school_class=classes["5Б"])
    plan = preview(upload(school, admin, csv("5А;Смирнова;Ольга;;ученица;;")))
    assert [(e.existing, old, key) for e, old, key in plan.moves] == [(olga, classes["5Б"], "5а")]
    confirmed(school, admin, csv("5А;Смирнова;Ольга;;ученица;;"))
    enrolments = ClassEnrolment.objects.filter(student=olga).order_by("valid_from")
    assert [(e.school_class.name, e.valid_to is None) for e in enrolments] == [
        ("5Б", False),
        ("5А", True),
    ]


def test_a_member_teacher_listed_as_staff_changes_role(school, admin, classes):
    teacher = make_member(school, Role.TEACHER, "Петрова Мария Ивановна", phone="+79137654321")
    confirmed(school, admin, csv(";Петрова;Мария;Ивановна;сотрудник;+79137654321;"))
    grants = RoleGrant.objects.filter(person=teacher, organization=school).order_by("valid_from")
    assert [(g.role, g.valid_to is None) for g in grants] == [
        (Role.TEACHER, False),
        (Role.STAFF, True),
    ]
    assert not PersonalInvitation.objects.filter(person=teacher).exists()


def test_a_member_parent_gets_the_new_child_at_once(school, admin, classes):
    mother = make_member(school, Role.PARENT, "Иванова Анна Петровна", phone="+79131234567")
    confirmed(school, admin, csv(FAMILY[0], FAMILY[1]))
    child = Person.objects.get(surname="Иванов", name="Пётр")
    assert ParentLink.objects.filter(parent=mother, child=child).exists()
    assert holds_role(mother, school, Role.PARENT, local("2026-09-02 00:00"))
    assert not PersonalInvitation.objects.filter(person=mother).exists()


def test_a_changed_preview_is_not_confirmed(school, admin, classes):
    roster_import = upload(school, admin, csv(*FAMILY))
    digest = preview(roster_import).digest()
    make_member(school, Role.TEACHER, "Петрова Мария Ивановна", phone="+79137654321")
    with pytest.raises(ValidationError) as refused:
        confirm_roster(roster_import, by=admin, digest=digest)
    assert refused.value.code == "changed"
    assert PersonalInvitation.objects.count() == 0


def test_only_an_admin_uploads(school, classes):
    teacher = make_member(school, Role.TEACHER, "Петрова Мария Ивановна")
    with pytest.raises(PermissionDenied):
        upload(school, teacher, csv(*FAMILY))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "Файл пустой"),
        (b"\xd0\xcf\x11\xe0\x00\x00", "Старый формат XLS"),
        ("Имя;Отчество\nАнна;Петровна".encode(), "не нашлась строка заголовков"),
        (b"PK\x03\x04broken", "не читается как таблица Excel"),
    ],
)
def test_an_unreadable_file_is_refused_whole(school, admin, content, message):
    with pytest.raises(ValidationError) as refused:
        upload(school, admin, content)
    assert message in refused.value.messages[0]
    assert RosterImport.objects.count() == 0


def test_the_admin_uploads_previews_and_confirms_on_the_pages(school, admin, classes):
    client = client_for(admin)
    page = client.post(
        f"/org/{school.pk}/roster/",
        {"file": SimpleUploadedFile("список.csv", csv(*FAMILY, "5А;Козлов;Иван;;директор;;"))},
    )
    assert page.status_code == 302
    preview_page = client.get(page["Location"])
    text = preview_page.content.decode()
    assert "Строка 7:" in text and "Роль «директор» непонятна" in text
    assert "Подтвердить и загрузить" not in text
    assert Person.objects.count() == 1

    page = client.post(
        f"/org/{school.pk}/roster/", {"file": SimpleUploadedFile("список.csv", csv(*FAMILY))}
    )
    roster_import = RosterImport.objects.latest("pk")
    digest = preview(roster_import).digest()
    assert digest in client.get(page["Location"]).content.decode()
    done = client.post(f"/roster/{roster_import.pk}/confirm/", {"digest": digest})
    assert done.status_code == 302 and done["Location"] == f"/org/{school.pk}/invitations/"
    assert PersonalInvitation.objects.filter(organization=school).count() == 5


def test_a_file_that_cannot_be_read_is_a_400_page(school, admin):
    page = client_for(admin).post(
        f"/org/{school.pk}/roster/", {"file": SimpleUploadedFile("a.xls", b"\xd0\xcf\x11\xe0\x00")}
    )
    assert page.status_code == 400
    assert "Старый формат XLS" in page.content.decode()


def test_a_teacher_is_refused_the_roster_pages(school, classes):
    teacher = make_member(school, Role.TEACHER, "Петрова Мария Ивановна")
    assert client_for(teacher).get(f"/org/{school.pk}/roster/").status_code == 403


def test_the_command_previews_then_confirms(school, admin, classes, tmp_path):
    path = tmp_path / "список.csv"
    path.write_bytes(csv(*FAMILY))
    out = StringIO()
    call_command("import_roster", str(path), org=school.pk, admin=admin.phone, stdout=out)
    assert "new_people=5" in out.getvalue()
    assert PersonalInvitation.objects.count() == 0
    call_command(
        "import_roster", str(path), org=school.pk, admin=admin.phone, confirm=True, stdout=out
    )
    assert PersonalInvitation.objects.count() == 5


def test_namesake_students_of_two_classes_stay_apart_when_the_file_comes_again(
    school, admin, classes
):
    """Neither has joined, so neither is in a class yet: their invitations place them."""
    lines = ("5А;Павлова;Людмила;Фёдоровна;ученица;;", "5Б;Павлова;Людмила;Фёдоровна;ученица;;")
    confirmed(school, admin, csv(*lines))
    plan = preview(upload(school, admin, csv(*lines)))
    assert plan.bad_rows == []
    assert not plan.has_changes

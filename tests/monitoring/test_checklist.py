"""The activation checklist: each step of the letter's algorithm turns done by the act itself."""

from django.contrib.auth.signals import user_logged_in
from django.test import RequestFactory
from django.utils import timezone

from parta.accounts.services import enrol_student, link_parent
from parta.calls.services import join_call, start_call
from parta.messaging.models import Conversation
from parta.messaging.services import create_conversation
from parta.monitoring.checklist import STEPS, activation_checklist
from parta.schools.services import create_classes, update_profile
from tests.factories import make_member

PROFILE = {
    "full_name": "МБОУ Мотыгинская СОШ №1",
    "inn": "2426001487",
    "ogrn": "1022401506346",
    "kpp": "242601001",
    "address": "Шоссейная ул., 50, п. Мотыгино",
    "phone": "+7 39141 22506",
    "email": "school1@example.ru",
    "head_full_name": "Иванова Анна Петровна",
}


def steps(school) -> dict[str, bool]:
    return {step.key: step.done for step in activation_checklist(school, timezone.now())}


def test_every_step_of_the_letter_turns_done_by_doing_it(school):
    assert steps(school) == {key: False for key, *_rest in STEPS}
    admin = make_member(school, "admin", "Петров Олег Ильич")

    user_logged_in.send(sender=type(admin), request=RequestFactory().get("/"), user=admin)
    assert steps(school)["admin_signed_in"]

    update_profile(school, actor=admin, **PROFILE)
    assert steps(school)["profile_complete"]

    create_classes(school, "5А–5Б", actor=admin, academic_year=2026, with_staff_class=False)
    done = steps(school)
    assert done["classes_created"] and not done["teachers_class"]
    create_classes(school, "5А", actor=admin, academic_year=2026, with_staff_class=True)
    assert steps(school)["teachers_class"]

    teacher = make_member(school, "teacher", "Смирнова Елена Викторовна")
    assert not steps(school)["teachers_joined"]  # no head count entered yet
    update_profile(school, actor=admin, teacher_headcount=2)
    assert not steps(school)["teachers_joined"]  # 1 of 2
    make_member(school, "teacher", "Кузнецов Денис Андреевич")
    assert steps(school)["teachers_joined"]

    classes = {c.name: c for c in school.classes.filter(is_staff_class=False)}
    student_a = make_member(school, "student", "Соколов Артём")
    enrol_student(student_a, classes["5А"])
    assert not steps(school)["students_joined"]  # 5Б is still empty
    student_b = make_member(school, "student", "Белова Мария")
    enrol_student(student_b, classes["5Б"])
    assert steps(school)["students_joined"]

    for purpose, key in ((Conversation.Purpose.INFO, "info_channel"),
                         (Conversation.Purpose.STAFF, "staff_channel")):  # fmt: skip
        create_conversation(
            admin, school, title=key, kind=Conversation.Kind.CHANNEL, purpose=purpose
        )
        assert steps(school)[key]

    # A class chat counts only when a teacher made it, and only in every class.
    create_conversation(
        admin, school, title="5А", purpose=Conversation.Purpose.CLASS, school_class=classes["5А"]
    )
    assert not steps(school)["class_chats"]
    for name in ("5А", "5Б"):
        create_conversation(
            teacher,
            school,
            title=name,
            purpose=Conversation.Purpose.CLASS,
            school_class=classes[name],
        )
    assert steps(school)["class_chats"]

    for name, student in (("5А", student_a), ("5Б", student_b)):
        link_parent(make_member(school, "parent", f"Родитель {name}"), student)
        create_conversation(
            admin,
            school,
            title=f"Родители {name}",
            purpose=Conversation.Purpose.PARENTS,
            school_class=classes[name],
        )
    assert steps(school)["parent_chats"]

    call = start_call(teacher, school)
    join_call(call, teacher)
    assert not steps(school)["call_held"]
    join_call(call, student_a)
    assert steps(school) == {key: True for key, *_rest in STEPS}


def test_each_step_links_to_the_page_that_does_it(school):
    urls = {s.key: s.url for s in activation_checklist(school, timezone.now())}
    assert urls["profile_complete"] == f"/org/{school.pk}/profile/"
    assert urls["classes_created"] == f"/org/{school.pk}/classes/"
    assert urls["teachers_joined"] == f"/org/{school.pk}/links/"
    assert urls["info_channel"] == "/messages/new/"


def test_a_deleted_channel_no_longer_counts(school):
    admin = make_member(school, "admin")
    channel = create_conversation(
        admin,
        school,
        title="Новости",
        kind=Conversation.Kind.CHANNEL,
        purpose=Conversation.Purpose.INFO,
    )
    assert steps(school)["info_channel"]
    channel.deleted_at = timezone.now()
    channel.save()
    assert not steps(school)["info_channel"]

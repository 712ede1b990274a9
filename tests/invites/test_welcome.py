"""The welcome (issue 15): who joins which existing conversations, one notice per role, and
never a chat made in a newcomer's name."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from parta.accounts.models import Person, Role
from parta.accounts.services import enrol_student, grant_role, link_parent, move_student
from parta.invites.models import JoinRequest
from parta.invites.services import (
    add_role,
    admit,
    approve_request,
    create_invite,
    redeem_invite,
    reject_request,
    request_to_join,
)
from parta.messaging.models import Conversation, Message
from parta.messaging.services import (
    NOTICES_TITLE,
    ServiceNotice,
    create_conversation,
    welcome,
)
from parta.monitoring.engine import weekly_report
from parta.monitoring.scopes import Scope
from parta.monitoring.weeks import Week
from parta.realtime.models import PersonEvent
from tests.factories import client_for, make_class, make_member, make_person
from tests.invites.conftest import School, make_link

CHAT = Conversation.Kind.CHAT
CHANNEL = Conversation.Kind.CHANNEL
P = Conversation.Purpose


@pytest.fixture
def chats(world: School) -> dict[str, Conversation]:
    """The conversations a school has once it is set up, each made by whoever makes it."""

    def make(by: Person, title: str, kind: str, purpose: str, school_class=None) -> Conversation:
        return create_conversation(
            by, world.org, title=title, kind=kind, purpose=purpose, school_class=school_class
        )

    return {
        "staff_chat": make(world.teacher, "Учительская", CHAT, P.STAFF, world.staff_class),
        "staff_channel": make(world.admin, "Сотрудники", CHANNEL, P.STAFF),
        "info": make(world.admin, "Новости школы", CHANNEL, P.INFO),
        "class_5a": make(world.teacher_5a, "5А — класс", CHAT, P.CLASS, world.class_5a),
        "class_6a": make(world.teacher_6a, "6А — класс", CHAT, P.CLASS, world.class_6a),
        "parents_5a": make(world.teacher_5a, "5А — родители", CHAT, P.PARENTS, world.class_5a),
        "parents_6a": make(world.teacher_6a, "6А — родители", CHAT, P.PARENTS, world.class_6a),
        "other": make(world.teacher, "Кружок робототехники", CHAT, P.OTHER),
    }


def joined(person: Person) -> set[str]:
    return set(
        Conversation.objects.filter(members__person=person, members__left_at__isnull=True)
        .exclude(purpose=P.NOTICES)
        .values_list("title", flat=True)
    )


def welcomes(person: Person) -> list[Message]:
    return list(
        Message.objects.filter(
            author=person,
            conversation__purpose=P.NOTICES,
            service_kind__startswith=ServiceNotice.WELCOME,
        )
    )


def teachers_with_chat(world: School) -> int:
    week = Week.containing(timezone.now(), world.org.district.region.zone)
    (row,) = weekly_report(Scope("organization", organization=world.org), week).organizations
    return row["teachers_with_chat"]


def test_a_teacher_joining_by_link_is_in_the_staff_chats_and_told_her_role(
    world: School, chats, newcomer
) -> None:
    before = teachers_with_chat(world)
    conversations = Conversation.objects.count()
    redeem_invite(make_link(world, "teacher", needs_approval=False).link.pk, newcomer)
    assert joined(newcomer) == {"Учительская", "Сотрудники", "Новости школы"}
    (notice,) = welcomes(newcomer)
    assert notice.service_kind == "welcome:teacher"
    assert notice.is_service
    assert notice.conversation.title == NOTICES_TITLE
    assert "Ваша роль — учитель." in notice.text
    assert "/messages/new/" in notice.text and "/messages/" in notice.text
    # The only new row is her own notices channel: a channel, never a chat.
    (made,) = Conversation.objects.filter(created_by=newcomer)
    assert (made.kind, made.purpose) == (CHANNEL, P.NOTICES)
    assert Conversation.objects.count() == conversations + 1
    assert not Conversation.objects.filter(created_by=newcomer, kind=CHAT).exists()
    assert teachers_with_chat(world) == before
    # She gets the conversations live: a member_joined event in her own log for each.
    got = set(
        PersonEvent.objects.filter(person=newcomer, kind="conversation.member_joined").values_list(
            "payload__conversation_id", flat=True
        )
    )
    assert got == {chats["staff_chat"].pk, chats["staff_channel"].pk, chats["info"].pk}


def test_a_student_joins_her_class_chat_only(world: School, chats, newcomer) -> None:
    redeem_invite(make_link(world, "student", needs_approval=False).link.pk, newcomer)
    assert joined(newcomer) == {"5А — класс", "Новости школы"}
    (notice,) = welcomes(newcomer)
    assert "Ваша роль — ученик, класс 5А." in notice.text
    assert "/messages/new/" not in notice.text  # students make no group chats


def test_a_parent_joins_the_parents_chat_of_the_childs_class_never_the_childrens(
    world: School, chats, newcomer
) -> None:
    redeem_invite(make_link(world, "parent", needs_approval=False).link.pk, newcomer)
    assert joined(newcomer) == {"5А — родители", "Новости школы"}
    assert "Ваша роль — родитель." in welcomes(newcomer)[0].text


def test_a_second_child_adds_that_class_but_no_second_welcome(
    world: School, chats, newcomer
) -> None:
    redeem_invite(make_link(world, "parent", needs_approval=False).link.pk, newcomer)
    sister = make_member(world.org, Role.STUDENT, "Петрова Мария Олеговна")
    enrol_student(sister, world.class_6a)
    link = create_invite(
        world.org, Role.PARENT, actor=world.admin, child=sister, needs_approval=False
    )
    redeem_invite(link.link.pk, newcomer)
    assert joined(newcomer) == {"5А — родители", "6А — родители", "Новости школы"}
    assert len(welcomes(newcomer)) == 1


def test_an_approved_request_welcomes_once_and_says_it_was_approved(
    world: School, chats, newcomer
) -> None:
    outcome = redeem_invite(make_link(world, "teacher").link.pk, newcomer)
    assert not outcome.joined
    assert joined(newcomer) == set() and welcomes(newcomer) == []  # nothing before approval
    assert outcome.join_request is not None
    approve_request(outcome.join_request, actor=world.admin)
    (notice,) = welcomes(newcomer)
    assert notice.text.startswith("Ваша заявка одобрена. Добро пожаловать в «СОШ №1»!")
    assert joined(newcomer) == {"Учительская", "Сотрудники", "Новости школы"}
    # Her membership notices in each chat are service notices too: nothing is counted.
    assert not Message.objects.filter(author=newcomer, is_service=False).exists()


def test_an_admin_adding_a_role_by_hand_welcomes_the_same_way(
    world: School, chats, newcomer
) -> None:
    grant_role(newcomer, world.org, Role.STAFF)
    add_role(newcomer, world.org, Role.TEACHER, actor=world.admin)
    assert joined(newcomer) == {"Учительская", "Сотрудники", "Новости школы"}
    assert [m.service_kind for m in welcomes(newcomer)] == ["welcome:teacher"]


def test_a_welcome_never_adds_to_a_deleted_or_another_schools_chat(
    world: School, chats, newcomer, other_school
) -> None:
    chats["staff_channel"].deleted_at = timezone.now()
    chats["staff_channel"].save(update_fields=["deleted_at"])
    elsewhere = make_class(other_school, "1*У*Учительский", is_staff_class=True)
    create_conversation(
        world.outsider,
        other_school,
        title="Чужая учительская",
        purpose=P.STAFF,
        school_class=elsewhere,
    )
    redeem_invite(make_link(world, "teacher", needs_approval=False).link.pk, newcomer)
    assert joined(newcomer) == {"Учительская", "Новости школы"}


def test_a_welcome_in_a_school_without_chats_makes_none(world: School, newcomer) -> None:
    redeem_invite(make_link(world, "teacher", needs_approval=False).link.pk, newcomer)
    assert joined(newcomer) == set()
    assert len(welcomes(newcomer)) == 1
    assert not Conversation.objects.filter(kind=CHAT).exists()


def test_a_rejected_request_is_told_on_my_requests_and_welcomes_nobody(
    world: School, chats, newcomer
) -> None:
    join_request = request_to_join(newcomer, world.org, Role.TEACHER)
    reject_request(join_request, actor=world.admin, reason="Вы не работаете в нашей школе")
    assert JoinRequest.objects.get(pk=join_request.pk).status == JoinRequest.Status.REJECTED
    assert joined(newcomer) == set() and welcomes(newcomer) == []
    assert not Conversation.objects.filter(created_by=newcomer).exists()
    page = client_for(newcomer).get("/my/requests/").content.decode()
    assert "отклонена: Вы не работаете в нашей школе" in page


def test_the_welcome_costs_a_bounded_number_of_queries(world: School, chats) -> None:
    """Joining is a click, but a school of 1,750 people clicks it 1,750 times."""
    counts = []
    for name in ("Новикова Дарья Андреевна", "Лебедев Игорь Павлович"):
        person = make_person(name)
        link = make_link(world, "teacher", needs_approval=False).link
        with CaptureQueriesContext(connection) as queries:
            redeem_invite(link.pk, person)
        counts.append(len(queries))
    assert counts[0] == counts[1]  # no growth with the school's members
    assert counts[0] <= 75, counts  # 69 with three conversations to join


def test_a_moved_student_and_her_parent_follow_her_to_the_new_class(world: School, chats) -> None:
    """A move by the admin: the student leaves 5А's class chat for 6А's, her parent the
    parents' chats likewise, and the old chat is told she left."""
    welcome(world.student, world.org, Role.STUDENT)
    welcome(world.parent, world.org, Role.PARENT)
    assert joined(world.student) == {"5А — класс", "Новости школы"}
    assert joined(world.parent) == {"5А — родители", "Новости школы"}
    move_student(world.student, world.class_6a, actor=world.admin)
    assert joined(world.student) == {"6А — класс", "Новости школы"}
    assert joined(world.parent) == {"6А — родители", "Новости школы"}
    left = Message.objects.get(conversation=chats["class_5a"], service_kind=ServiceNotice.LEFT)
    assert left.author == world.student
    assert Message.objects.filter(
        conversation=chats["class_6a"], service_kind=ServiceNotice.JOINED, author=world.student
    ).exists()


def test_a_parent_with_another_child_in_the_old_class_stays_in_its_parents_chat(
    world: School, chats
) -> None:
    sibling = make_member(world.org, Role.STUDENT, "Петрова Мария Олеговна")
    enrol_student(sibling, world.class_5a)
    link_parent(world.parent, sibling)
    welcome(world.parent, world.org, Role.PARENT)
    move_student(world.student, world.class_6a, actor=world.admin)
    assert joined(world.parent) == {"5А — родители", "6А — родители", "Новости школы"}


def test_a_move_joins_no_deleted_chat_and_can_be_undone(world: School, chats) -> None:
    chats["class_6a"].deleted_at = timezone.now()
    chats["class_6a"].save(update_fields=["deleted_at"])
    move_student(world.student, world.class_6a, actor=world.admin)
    assert joined(world.student) == set()
    move_student(world.student, world.class_5a, actor=world.admin)
    assert joined(world.student) == {"5А — класс"}


def test_a_child_who_joins_after_her_parent_brings_the_parent_into_her_classs_parents_chat(
    world: School, chats
) -> None:
    """A family's slip: the mother joins first, when her son is in no class yet (his record
    holds no role before he joins); his joining brings her into 5А's parents' chat."""
    son = make_person("Петров Илья Олегович")
    mother = make_person("Петрова Ольга Ивановна")
    admit(
        mother,
        world.org,
        Role.PARENT,
        school_class=world.class_5a,
        child=son,
        granted_by=world.admin,
        reason="Персональное приглашение",
    )
    assert joined(mother) == {"Новости школы"}
    admit(
        son,
        world.org,
        Role.STUDENT,
        school_class=world.class_5a,
        child=None,
        granted_by=world.admin,
        reason="Персональное приглашение",
    )
    assert joined(son) == {"5А — класс", "Новости школы"}
    assert joined(mother) == {"5А — родители", "Новости школы"}

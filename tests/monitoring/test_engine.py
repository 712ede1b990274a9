"""Every rule and every "decided" choice of docs/indicators.md, with boundary cases."""

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.db import connection

from parta.accounts.services import grant_role, revoke_role
from parta.calls.models import CallParticipation
from parta.calls.services import StaysFromHistory, end_call, join_call, start_call
from parta.messaging.models import Conversation
from parta.messaging.services import (
    ServiceNotice,
    create_conversation,
    delete_conversation,
    delete_message,
    post_service_notice,
    send_message,
)
from parta.monitoring import tallies
from parta.monitoring.engine import share_pct, weekly_report
from parta.monitoring.scopes import Scope, resolve_scope
from parta.monitoring.weeks import Week
from parta.structure.models import Organization
from tests.factories import local, make_district, make_member, make_org, make_person, make_region
from tests.monitoring.builders import build_example

DATA = Path(__file__).parents[2] / "docs" / "examples"
W47 = Week(2026, 47)
EXPECTED_W47 = json.loads((DATA / "example-report-2026-W47.json").read_text(encoding="utf-8"))


def row(org: Organization, week: Week = W47) -> dict:
    (only,) = weekly_report(Scope("organization", organization=org), week).organizations
    return only


@pytest.fixture
def teacher(school):
    return make_member(school, "teacher", "Смирнова Елена Викторовна")


@pytest.fixture
def chat(school, teacher):
    return create_conversation(teacher, school, title="5А", at=local("2026-11-02 09:00"))


def write(person, conversation, when, n=1):
    for i in range(n):
        send_message(person, conversation, f"сообщение {i}", at=when + timedelta(seconds=i))


# The worked example


@pytest.mark.django_db
def test_worked_example_built_through_services_gives_the_spec_report():
    build_example()
    report = weekly_report(resolve_scope(district=None), W47)
    assert report.as_dict() == EXPECTED_W47


@pytest.mark.django_db
def test_authorities_are_left_out_by_default_and_included_when_asked():
    example = build_example()
    default = weekly_report(resolve_scope(), W47)
    assert [r["id"] for r in default.organizations] == ["s1", "s2"]
    with_authorities = weekly_report(resolve_scope(kinds="school,authority"), W47)
    # Sorted by region, district and name: «МБОУ …» before «МКУ …».
    assert [r["id"] for r in with_authorities.organizations] == ["s1", "s2", "uo"]
    uo = with_authorities.organizations[2]
    assert (uo["teachers"], uo["active"], uo["messages"]) == (1, False, 0)
    assert with_authorities.total["organizations"] == 3
    assert with_authorities.total["teachers"] == 7
    assert row(example.uo)["teachers"] == 1


# The week boundary in the organization's zone


@pytest.mark.django_db
def test_message_one_second_either_side_of_monday_midnight(school, teacher, chat):
    monday = local("2026-11-16 00:00")
    write(teacher, chat, monday - timedelta(seconds=1))  # Sunday 23:59:59: week 46
    write(teacher, chat, monday)  # Monday 00:00:00: week 47
    write(teacher, chat, monday + timedelta(days=7) - timedelta(seconds=1))  # last second of 47
    write(teacher, chat, monday + timedelta(days=7))  # first second of 48
    assert row(school, Week(2026, 46))["messages"] == 1
    assert row(school, W47)["messages"] == 2
    assert row(school, Week(2026, 48))["messages"] == 1


@pytest.mark.django_db
def test_timestamps_in_other_offsets_fall_in_the_krasnoyarsk_week(school, teacher, chat):
    # 2026-11-15T17:00Z is Monday 00:00 in Krasnoyarsk (+07), Sunday 20:00 in Moscow.
    moscow = ZoneInfo("Europe/Moscow")
    write(teacher, chat, datetime(2026, 11, 15, 17, 0, tzinfo=UTC))
    write(teacher, chat, datetime(2026, 11, 15, 20, 0, tzinfo=moscow))
    write(teacher, chat, datetime(2026, 11, 15, 16, 59, 59, tzinfo=UTC))
    write(teacher, chat, datetime(2026, 11, 15, 19, 59, 59, tzinfo=moscow))
    assert row(school, W47)["messages"] == 2
    assert row(school, Week(2026, 46))["messages"] == 2


@pytest.mark.django_db
def test_each_region_uses_its_own_zone_in_one_platform_report():
    moscow_school = make_org(
        make_district(make_region("Московская область", "Europe/Moscow"), "Одинцовский"),
        "МБОУ Одинцовская СОШ",
    )
    krsk_school = make_org(make_district(), "МБОУ Мотыгинская СОШ №1")
    for school in (moscow_school, krsk_school):
        teacher = make_member(school, "teacher")
        chat = create_conversation(teacher, school, title="чат", at=local("2026-11-02 09:00"))
        # Monday 02:00 in Krasnoyarsk is Sunday 22:00 in Moscow.
        write(teacher, chat, local("2026-11-16 02:00"), n=3)
    report = weekly_report(resolve_scope(), W47)
    by_name = {r["name"]: r for r in report.organizations}
    assert by_name["МБОУ Мотыгинская СОШ №1"]["teachers_3_messages"] == 1
    assert by_name["МБОУ Одинцовская СОШ"]["teachers_3_messages"] == 0
    assert [r["region"] for r in report.organizations] == [
        "Красноярский край",
        "Московская область",
    ]


# Roles read at the moment of each action


@pytest.mark.django_db
def test_role_ending_mid_week_counts_messages_before_it_only(school, chat):
    leaving = make_member(school, "teacher", until=local("2026-11-18 12:00"))
    grant_role(leaving, school, "staff", valid_from=local("2026-09-01 00:00"))  # still employed
    chat_members = chat.members
    chat_members.create(person=leaving, joined_at=local("2026-11-02 09:00"))
    write(leaving, chat, local("2026-11-18 11:59:57"), n=3)  # 57, 58, 59 s: still a teacher
    write(leaving, chat, local("2026-11-18 12:00"), n=5)  # after the role closed
    r = row(school)
    assert r["teachers"] == 2  # held the role at a moment of the week
    assert r["teachers_3_messages"] == 1
    assert r["teachers_10_messages"] == 0
    assert r["messages"] == 8


@pytest.mark.django_db
def test_role_starting_mid_week_counts_messages_after_it_only(school, chat):
    newcomer = make_member(school, "staff")
    grant_role(newcomer, school, "teacher", valid_from=local("2026-11-19 00:00"))
    chat.members.create(person=newcomer, joined_at=local("2026-11-02 09:00"))
    write(newcomer, chat, local("2026-11-18 23:59:58"), n=2)
    write(newcomer, chat, local("2026-11-19 00:00"), n=2)
    assert row(school)["teachers_3_messages"] == 0
    write(newcomer, chat, local("2026-11-20 10:00"))
    assert row(school)["teachers_3_messages"] == 1


@pytest.mark.django_db
def test_role_revoked_and_granted_again_inside_the_week(school, chat, teacher):
    grant_role(teacher, school, "staff", valid_from=local("2026-09-01 00:00"))
    revoke_role(teacher, school, "teacher", at=local("2026-11-17 00:00"))
    grant_role(teacher, school, "teacher", valid_from=local("2026-11-19 00:00"))
    write(teacher, chat, local("2026-11-16 10:00"))  # teacher
    write(teacher, chat, local("2026-11-18 10:00"), n=5)  # not a teacher
    write(teacher, chat, local("2026-11-20 10:00"))  # teacher again
    r = row(school)
    assert (r["teachers"], r["teachers_3_messages"], r["messages"]) == (1, 0, 7)
    write(teacher, chat, local("2026-11-21 10:00"))
    assert row(school)["teachers_3_messages"] == 1


@pytest.mark.django_db
def test_a_closed_week_does_not_move_when_roles_change_later(school, chat, teacher):
    write(teacher, chat, local("2026-11-17 10:00"), n=3)
    before = row(school)
    revoke_role(teacher, school, "teacher", at=local("2026-11-25 00:00"))
    assert row(school) == before
    assert before["teachers_3_messages"] == 1


@pytest.mark.django_db
def test_teacher_role_that_ended_exactly_at_week_start_is_not_counted(school):
    make_member(school, "teacher", until=local("2026-11-16 00:00"))
    make_member(school, "teacher", since=local("2026-11-23 00:00"))
    assert row(school)["teachers"] == 0
    assert row(school)["teachers_with_chat_pct"] is None


# Chats


@pytest.mark.django_db
def test_chat_by_admin_without_teacher_role_never_counts_even_after_becoming_teacher(school):
    admin = make_member(school, "admin", "Петров Олег Ильич")
    create_conversation(admin, school, title="Организационный", at=local("2026-11-17 10:00"))
    grant_role(admin, school, "teacher", valid_from=local("2026-11-18 00:00"))
    r = row(school)
    assert (r["teachers"], r["teachers_with_chat"], r["chats"]) == (1, 0, 1)
    assert row(school, Week(2026, 48))["teachers_with_chat"] == 0
    # A chat made once they are a teacher does count.
    create_conversation(admin, school, title="Методический", at=local("2026-11-18 09:00"))
    assert row(school)["teachers_with_chat"] == 1


@pytest.mark.django_db
def test_chats_are_cumulative_and_channels_are_not_chats(school, teacher):
    create_conversation(teacher, school, title="старый чат", at=local("2026-09-05 09:00"))
    create_conversation(
        teacher,
        school,
        title="канал",
        kind=Conversation.Kind.CHANNEL,
        at=local("2026-11-17 09:00"),
    )
    r = row(school)
    assert (r["teachers_with_chat"], r["chats"], r["teachers_with_chat_pct"]) == (1, 1, 100.0)
    assert row(school, Week(2026, 36))["chats"] == 1
    assert row(school, Week(2026, 35))["chats"] == 0


@pytest.mark.django_db
def test_chat_created_in_the_last_second_of_the_week_counts_and_next_second_does_not(school):
    early = make_member(school, "teacher")
    late = make_member(school, "teacher")
    create_conversation(early, school, title="a", at=local("2026-11-22 23:59:59"))
    create_conversation(late, school, title="b", at=local("2026-11-23 00:00"))
    r = row(school)
    assert (r["teachers_with_chat"], r["chats"]) == (1, 1)


@pytest.mark.django_db
def test_chat_deleted_before_week_end_does_not_count_deleted_after_does(school, teacher):
    gone = create_conversation(teacher, school, title="удалён", at=local("2026-11-16 09:00"))
    delete_conversation(gone, by=teacher, at=local("2026-11-20 12:00"))
    assert row(school)["teachers_with_chat"] == 0
    kept = create_conversation(teacher, school, title="удалят", at=local("2026-11-16 10:00"))
    delete_conversation(kept, by=teacher, at=local("2026-11-23 00:00"))
    r = row(school)
    assert (r["teachers_with_chat"], r["chats"]) == (1, 1)
    assert row(school, Week(2026, 48))["chats"] == 0


@pytest.mark.django_db
def test_creator_who_is_no_longer_a_teacher_this_week_is_not_counted(school):
    former = make_member(school, "teacher", until=local("2026-11-01 00:00"))
    create_conversation(former, school, title="старый", at=local("2026-10-01 09:00"))
    r = row(school)
    assert (r["teachers"], r["teachers_with_chat"], r["chats"]) == (0, 0, 1)


# Messages


@pytest.mark.django_db
def test_channel_messages_count_and_service_messages_do_not(school, teacher):
    channel = create_conversation(
        teacher,
        school,
        title="Новости",
        kind=Conversation.Kind.CHANNEL,
        at=local("2026-11-16 08:00"),
    )
    write(teacher, channel, local("2026-11-16 09:00"), n=2)
    post_service_notice(channel, teacher, ServiceNotice.NOTICE, at=local("2026-11-16 10:00"))
    assert (row(school)["teachers_3_messages"], row(school)["messages"]) == (0, 2)
    write(teacher, channel, local("2026-11-16 11:00"))
    assert (row(school)["teachers_3_messages"], row(school)["messages"]) == (1, 3)


@pytest.mark.django_db
def test_deleted_messages_and_deleted_chats_take_nothing_away(school, teacher, chat):
    write(teacher, chat, local("2026-11-17 10:00"), n=10)
    first = chat.messages.order_by("written_at").first()
    delete_message(first, by=teacher, at=local("2026-11-18 10:00"))
    delete_conversation(chat, by=teacher, at=local("2026-11-19 10:00"))
    r = row(school)
    assert (r["teachers_3_messages"], r["teachers_10_messages"], r["messages"]) == (1, 1, 10)


@pytest.mark.django_db
def test_nine_messages_are_not_ten(school, teacher, chat):
    write(teacher, chat, local("2026-11-17 10:00"), n=9)
    r = row(school)
    assert (r["teachers_3_messages"], r["teachers_10_messages"]) == (1, 0)


@pytest.mark.django_db
def test_teacher_in_two_schools_counts_in_each(school, other_school):
    both = make_member(school, "teacher")
    grant_role(both, other_school, "teacher", valid_from=local("2026-09-01 00:00"))
    a = create_conversation(both, school, title="a", at=local("2026-11-16 09:00"))
    b = create_conversation(both, other_school, title="b", at=local("2026-11-16 09:00"))
    write(both, a, local("2026-11-17 10:00"), n=3)
    write(both, b, local("2026-11-17 11:00"), n=10)
    ra, rb = row(school), row(other_school)
    assert (ra["teachers_3_messages"], ra["teachers_10_messages"]) == (1, 0)
    assert (rb["teachers_3_messages"], rb["teachers_10_messages"]) == (1, 1)
    total = weekly_report(resolve_scope(), W47).total
    assert (total["teachers"], total["teachers_3_messages"], total["teachers_with_chat"]) == (
        2,
        2,
        2,
    )


@pytest.mark.django_db
def test_teacher_writing_in_another_school_counts_there_only_if_a_teacher_there(
    school, other_school, teacher
):
    host = make_member(other_school, "teacher")
    # Works at the other school too, but not as a teacher there.
    grant_role(teacher, other_school, "staff", valid_from=local("2026-09-01 00:00"))
    foreign = create_conversation(host, other_school, title="чужой", at=local("2026-11-16 09:00"))
    foreign.members.create(person=teacher, joined_at=local("2026-11-16 09:00"))
    write(teacher, foreign, local("2026-11-17 10:00"), n=5)
    mine, theirs = row(school), row(other_school)
    assert (mine["teachers_3_messages"], mine["messages"]) == (0, 0)
    assert (theirs["teachers"], theirs["teachers_3_messages"], theirs["messages"]) == (1, 0, 5)
    assert theirs["active"] is False


# Calls


def call_with(creator, org, stays, at):
    """A call created at `at` with stays [(person, joined, left or None)]."""
    call = start_call(creator, org, at=at)
    join_call(call, creator, at=at)
    CallParticipation.objects.filter(call=call).delete()
    history = StaysFromHistory()
    history.add(
        [
            CallParticipation(call=call, person=person, joined_at=joined, left_at=left)
            for person, joined, left in stays
        ]
    )
    history.finish()
    return call


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("stays", "held"),
    [
        pytest.param([("t", "10:00", "10:30")], False, id="one person"),
        pytest.param(
            [("t", "10:00", "10:30"), ("s", "10:30", "10:45")], False, id="one after other"
        ),
        pytest.param(
            [("t", "10:00", "10:30"), ("t", "10:10", "10:20")], False, id="same person twice"
        ),
        pytest.param([("t", "10:00", "10:30"), ("s", "10:29:59", "10:45")], True, id="one second"),
        pytest.param([("t", "10:00", None), ("s", "10:20", None)], True, id="still running"),
        pytest.param([("t", "10:00", "10:30"), ("s", "11:00", None)], False, id="open after end"),
        pytest.param([("t", "10:00", None), ("s", "10:10", "10:10")], False, id="empty stay"),
        pytest.param(
            [("t", "10:00", "10:30"), ("s", "09:00", "10:00:01")], True, id="joined before"
        ),
    ],
)
def test_held_call_rule(school, teacher, stays, held):
    student = make_member(school, "student", "Соколов Артём")
    who = {"t": teacher, "s": student}

    def at(clock):
        return local(f"2026-11-17 {clock}") if clock else None

    call_with(teacher, school, [(who[p], at(j), at(left)) for p, j, left in stays], at("10:00"))
    r = row(school)
    assert r["calls_held"] == int(held)
    assert r["teachers_1_call"] == int(held)


@pytest.mark.django_db
def test_call_belongs_to_week_of_creation_even_when_held_after(school, teacher):
    student = make_member(school, "student")
    call = start_call(teacher, school, at=local("2026-11-22 23:50"))
    join_call(call, teacher, at=local("2026-11-22 23:50"))
    assert row(school)["calls_held"] == 0  # nobody else yet: the closed week can still move
    join_call(call, student, at=local("2026-11-23 00:10"))
    end_call(call, at=local("2026-11-23 00:30"))
    assert (row(school)["calls_held"], row(school)["teachers_1_call"]) == (1, 1)
    assert row(school, Week(2026, 48))["calls_held"] == 0


@pytest.mark.django_db
def test_three_held_calls_and_creator_role_at_creation(school):
    teacher = make_member(school, "teacher", until=local("2026-11-18 00:00"))
    grant_role(teacher, school, "staff", valid_from=local("2026-09-01 00:00"))
    student = make_member(school, "student")
    for day in ("16", "17", "18", "19"):
        call = start_call(teacher, school, at=local(f"2026-11-{day} 10:00"))
        join_call(call, teacher, at=local(f"2026-11-{day} 10:00"))
        join_call(call, student, at=local(f"2026-11-{day} 10:05"))
        end_call(call, at=local(f"2026-11-{day} 10:30"))
    r = row(school)
    # Four held calls, but only two were created while their creator was a teacher.
    assert (r["calls_held"], r["teachers_1_call"], r["teachers_3_calls"]) == (4, 1, 0)
    grant_role(teacher, school, "teacher", valid_from=local("2026-11-18 09:00"))
    r = row(school)
    assert (r["teachers_1_call"], r["teachers_3_calls"]) == (1, 1)
    assert r["teachers_1_call_pct"] == 100.0


@pytest.mark.django_db
def test_active_means_a_teacher_wrote_or_created_a_held_call(school, teacher, chat):
    student = make_member(school, "student")
    chat.members.create(person=student, joined_at=local("2026-11-02 09:00"))
    write(student, chat, local("2026-11-17 10:00"), n=20)
    assert row(school)["active"] is False
    call = start_call(teacher, school, at=local("2026-11-17 11:00"))
    join_call(call, teacher, at=local("2026-11-17 11:00"))
    assert row(school)["active"] is False
    join_call(call, student, at=local("2026-11-17 11:01"))
    assert row(school)["active"] is True


# Members, shares, totals


@pytest.mark.django_db
def test_members_are_counted_at_the_last_moment_of_the_week(school):
    make_member(school, "student", until=local("2026-11-23 00:00"))  # held at the last moment
    make_member(school, "student", until=local("2026-11-22 23:59:59"))  # gone before it
    make_member(school, "parent", since=local("2026-11-22 23:59:59"))
    make_member(school, "admin", since=local("2026-11-23 00:00"))  # only from next week
    r = row(school)
    assert (r["students"], r["parents"], r["admins"]) == (1, 1, 0)


def test_shares_round_half_up_to_one_decimal():
    assert share_pct(1, 3) == 33.3
    assert share_pct(2, 3) == 66.7
    assert share_pct(1, 8) == 12.5
    assert share_pct(1, 16) == 6.3  # 6.25 rounds up, not to even
    assert share_pct(0, 5) == 0.0
    assert share_pct(0, 0) is None


@pytest.mark.django_db
def test_total_shares_are_recomputed_from_sums_not_averaged(school, other_school):
    busy = make_member(school, "teacher")
    make_member(school, "teacher")
    make_member(school, "teacher")
    lone = make_member(other_school, "teacher")
    for person, org in ((busy, school), (lone, other_school)):
        chat = create_conversation(person, org, title="чат", at=local("2026-11-16 09:00"))
        write(person, chat, local("2026-11-17 10:00"), n=3)
    total = weekly_report(resolve_scope(), W47).total
    assert (total["teachers"], total["teachers_3_messages"]) == (4, 2)
    assert total["teachers_3_messages_pct"] == 50.0  # the average of 33.3 and 100 would be 66.7
    assert (total["organizations"], total["active_organizations"]) == (2, 2)


# Tallies: the speed-up always equals the messages


@pytest.mark.django_db
def test_weekly_tallies_equal_a_recount_after_everything():
    build_example()
    assert tallies.stored() == tallies.recount()
    assert sum(tallies.stored().values()) == 25
    before = weekly_report(resolve_scope(), W47).as_dict()
    tallies.rebuild()
    assert weekly_report(resolve_scope(), W47).as_dict() == before


@pytest.mark.django_db
def test_tally_is_written_in_the_same_transaction_as_the_message(school, teacher, chat):
    with pytest.raises(RuntimeError), __import__("django").db.transaction.atomic():
        write(teacher, chat, local("2026-11-17 10:00"), n=3)
        raise RuntimeError("the request failed after sending")
    assert tallies.stored() == tallies.recount() == {}
    person = make_person("Новый Учитель")
    assert row(school)["messages"] == 0
    assert person.pk


@pytest.mark.django_db(transaction=True)
def test_postgresql_runs_the_report_without_jit(school):
    """JIT compiled the report's larger queries for longer than they ran (docs/benchmarks.md);
    it is switched off for the report's own transaction only."""
    if connection.vendor != "postgresql":
        pytest.skip("JIT is PostgreSQL's")
    seen = []

    def jit_of_each_query(execute, sql, params, many, context):
        if sql.startswith("SELECT"):
            execute("SHOW jit", None, False, context)
            seen.append(context["cursor"].fetchone()[0])
        return execute(sql, params, many, context)

    with connection.execute_wrapper(jit_of_each_query):
        weekly_report(Scope("organization", organization=school), Week(2026, 47))
    assert seen and set(seen) == {"off"}
    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        assert cursor.fetchone() == ("on",)

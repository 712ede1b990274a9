"""Attendance: stays from connections and heartbeats, the sweep, and the held-call rule as
the weekly report reads it."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.test import override_settings

from parta.calls.models import Call, CallGuest, CallParticipation
from parta.calls.services import (
    connect,
    disconnect,
    end_call,
    guest_enter,
    heartbeat,
    open_call,
    start_call,
    sweep_calls,
)
from parta.monitoring.engine import weekly_report
from parta.monitoring.scopes import Scope
from parta.monitoring.weeks import Week
from parta.realtime.models import PersonEvent
from tests.factories import local

pytestmark = pytest.mark.django_db
T0 = local("2026-11-17 10:00")


def at(minutes: float):
    return T0 + timedelta(minutes=minutes)


def stays(call: Call) -> list[tuple[int, object, object]]:
    return list(
        CallParticipation.objects.filter(call=call)
        .order_by("joined_at", "person_id")
        .values_list("person_id", "joined_at", "left_at")
    )


def report_row(org):
    (row,) = weekly_report(Scope("organization", organization=org), Week(2026, 47)).organizations
    return row


def test_two_tabs_one_stay_which_ends_with_the_last_tab(c):
    call = start_call(c.teacher, c.org, conversation=c.chat, at=at(0))
    connect(call, c.teacher, at=at(0))
    connect(call, c.student, at=at(1))
    connect(call, c.student, at=at(2))  # a second tab of the same person
    disconnect(call, c.student, at=at(3))
    assert CallParticipation.objects.get(call=call, person=c.student).left_at is None
    disconnect(call, c.student, at=at(5))
    disconnect(call, c.teacher, at=at(6))
    assert stays(call) == [(c.teacher.pk, at(0), at(6)), (c.student.pk, at(1), at(5))]


def test_a_silent_tab_is_closed_at_its_last_heartbeat_by_the_sweep(c):
    call = start_call(c.teacher, c.org, conversation=c.chat, at=at(0))
    connect(call, c.teacher, at=at(0))
    connect(call, c.student, at=at(1))
    heartbeat(call, c.student, at=at(1) + timedelta(seconds=10))
    heartbeat(call, c.teacher, at=at(1) + timedelta(seconds=25))
    # 31 s after the student's last heartbeat: only the student is gone.
    result = sweep_calls(now=at(1) + timedelta(seconds=41))
    assert (result.stays_closed, result.calls_ended) == (1, 0)
    assert CallParticipation.objects.get(call=call, person=c.student).left_at == at(1) + timedelta(
        seconds=10
    )
    assert CallParticipation.objects.get(call=call, person=c.teacher).left_at is None
    # 29 s of silence is not yet leaving.
    assert sweep_calls(now=at(1) + timedelta(seconds=54)).stays_closed == 0


def test_a_tab_that_comes_back_after_the_sweep_starts_a_new_stay(c):
    call = start_call(c.teacher, c.org, conversation=c.chat, at=at(0))
    connect(call, c.student, at=at(1))
    sweep_calls(now=at(2))
    heartbeat(call, c.student, at=at(3))
    assert stays(call) == [(c.student.pk, at(1), at(1)), (c.student.pk, at(3), None)]


def test_the_sweep_ends_a_call_left_empty_and_leaves_imported_stays_alone(c):
    call = start_call(c.teacher, c.org, conversation=c.chat, at=at(0))
    connect(call, c.teacher, at=at(0))
    imported = Call.objects.create(organization=c.org, created_by=c.teacher, created_at=at(0))
    CallParticipation.objects.create(call=imported, person=c.teacher, joined_at=at(0))
    result = sweep_calls(now=at(10))
    call.refresh_from_db()
    assert (result.stays_closed, result.calls_ended) == (1, 1)
    assert call.ended_at == at(0)
    assert CallParticipation.objects.get(call=imported).left_at is None
    imported.refresh_from_db()
    assert imported.ended_at is None


def test_sweep_command_closes_silent_stays(c, capsys):
    call = start_call(c.teacher, c.org, conversation=c.chat, at=at(0))
    connect(call, c.teacher, at=at(0))
    call_command("sweep_calls")
    assert "stays closed: 1, calls ended: 1" in capsys.readouterr().out
    assert CallParticipation.objects.get(call=call).left_at == at(0)
    call.refresh_from_db()
    assert call.ended_at == at(0)


def test_creating_a_call_puts_nobody_in_it_and_one_nobody_came_to_ends_at_its_start(c):
    """A stay starts with the person's connection, not with the call: a student who comes
    to a call whose creator never did is alone in it, and the call is not held."""
    call = start_call(c.teacher, c.org, conversation=c.chat, at=at(0))
    assert not CallParticipation.objects.filter(call=call).exists()
    assert sweep_calls(now=at(0.4)).calls_ended == 0  # still within the timeout
    connect(call, c.student, at=at(0.2))
    call.refresh_from_db()
    assert call.held_at is None
    assert stays(call) == [(c.student.pk, at(0.2), None)]
    unused = start_call(c.teacher, c.org, at=at(1))
    assert sweep_calls(now=at(2), call=unused).calls_ended == 1
    unused.refresh_from_db()
    assert unused.ended_at == at(1)


@override_settings(PARTA_CALL_HEARTBEAT_TIMEOUT=60)
def test_the_timeout_comes_from_settings(c):
    call = start_call(c.teacher, c.org, at=at(0))
    connect(call, c.teacher, at=at(0))
    assert sweep_calls(now=at(0.9)).stays_closed == 0
    assert sweep_calls(now=at(1.1)).stays_closed == 1
    assert CallParticipation.objects.get(call=call).left_at == at(0)


def test_held_when_two_people_overlap_through_signaling(c):
    call = start_call(c.teacher, c.org, conversation=c.chat, at=at(0))
    connect(call, c.teacher, at=at(0))
    connect(call, c.student, at=at(5))
    disconnect(call, c.student, at=at(40))
    disconnect(call, c.teacher, at=at(45))
    row = report_row(c.org)
    assert (row["calls_held"], row["teachers_1_call"], row["active"]) == (1, 1, True)


def test_not_held_when_they_miss_each_other_or_the_other_was_only_a_guest(c):
    call = start_call(c.teacher, c.org, conversation=c.chat, at=at(0))
    disconnect(call, c.teacher, at=at(10))
    connect(call, c.student, at=at(10))  # arrives the moment the teacher leaves
    disconnect(call, c.student, at=at(20))
    lonely = start_call(c.teacher, c.org, at=at(30), allow_anonymous=True)
    guest_enter(lonely, "k" * 32, "Гость из района", at=at(31))
    row = report_row(c.org)
    assert (row["calls_held"], row["teachers_1_call"], row["active"]) == (0, 0, False)
    assert CallGuest.objects.get(call=lonely).display_name == "Гость из района"


def test_a_silent_stay_swept_at_its_last_heartbeat_decides_held(c):
    """The student's network drops at 10:01:10; the teacher arrives at 10:01:30. Closing the
    stay when the sweep noticed (10:02) would make it look held; at the heartbeat it is not."""
    call = start_call(c.student, c.org, conversation=c.chat, at=at(0))
    heartbeat(call, c.student, at=at(1) + timedelta(seconds=10))
    connect(call, c.teacher, at=at(1) + timedelta(seconds=30))
    sweep_calls(now=at(2))
    assert report_row(c.org)["calls_held"] == 0


def test_open_call_in_a_conversation_posts_a_notice_and_a_live_join(c):
    from parta.messaging.models import Message
    from parta.realtime.models import PersonEvent

    opened = open_call(c.teacher, c.org, conversation=c.chat)
    assert opened.created and opened.link_token is None
    notice = Message.objects.get(conversation=c.chat, is_service=True, service_kind="call_started")
    assert notice.author == c.teacher
    event = PersonEvent.objects.get(person=c.student, kind="call.started")
    assert event.payload["call"]["id"] == opened.call.pk
    assert event.payload["call"]["url"] == f"/calls/{opened.call.pk}/"
    # Starting again while it runs joins the same call, without a second notice.
    again = open_call(c.student, c.org, conversation=c.chat)
    assert (again.call, again.created) == (opened.call, False)
    assert Message.objects.filter(conversation=c.chat, is_service=True).count() == 1


def test_two_ends_at_once_end_and_announce_the_call_once(c):
    call = open_call(c.teacher, c.org, conversation=c.chat, at=at(0)).call
    first, second = Call.objects.get(pk=call.pk), Call.objects.get(pk=call.pk)
    end_call(first, at=at(5))
    assert end_call(second, at=at(6)).ended_at == at(5)
    assert Call.objects.get(pk=call.pk).ended_at == at(5)
    assert PersonEvent.objects.filter(person=c.student, kind="call.ended").count() == 1

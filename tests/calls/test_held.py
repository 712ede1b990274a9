"""The stored held moment of a call: kept by every write of stays, always what the rule gives.

The rule (docs/indicators.md) is restated here in plain Python, pair by pair, so the
SQL that stores `Call.held_at` is checked against the spec and not against itself.
"""

import random
from datetime import datetime, timedelta

import pytest
from django.core.management import CommandError, call_command

from parta.calls.models import Call, CallParticipation
from parta.calls.selectors import calls_with_stale_held, held_calls
from parta.calls.services import (
    StaysFromHistory,
    connect,
    disconnect,
    end_call,
    join_call,
    leave_call,
    refresh_held,
    remove_participant,
    start_call,
    sweep_calls,
)
from tests.factories import local, make_member

pytestmark = pytest.mark.django_db
T0 = local("2026-11-17 10:00")

Stay = tuple[int, datetime, datetime | None]  # person, joined, left (None = still there)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def first_held_by_the_rule(stays: list[Stay]) -> datetime | None:
    """Two stays of different people overlapping for more than zero seconds, earliest first."""
    end_of_time = datetime.max.replace(tzinfo=T0.tzinfo)
    moments = [
        max(j1, j2)
        for i, (p1, j1, l1) in enumerate(stays)
        for p2, j2, l2 in stays[i + 1 :]
        if p1 != p2 and max(j1, j2) < min(l1 or end_of_time, l2 or end_of_time)
    ]
    return min(moments, default=None)


def stored(call: Call) -> datetime | None:
    return Call.objects.values_list("held_at", flat=True).get(pk=call.pk)


def test_held_from_the_moment_a_second_person_joins(c):
    call = start_call(c.teacher, c.org, conversation=c.chat, at=at(0))
    join_call(call, c.teacher, at=at(0))
    assert stored(call) is None
    join_call(call, c.student, at=at(3))
    assert stored(call) == at(3)
    leave_call(call, c.student, at=at(10))
    leave_call(call, c.teacher, at=at(12))
    end_call(call, at=at(12))
    assert stored(call) == at(3)
    assert list(held_calls()) == [call]


def test_a_stay_left_at_the_moment_it_began_unholds_the_call(c):
    call = start_call(c.teacher, c.org, conversation=c.chat, at=at(0))
    join_call(call, c.teacher, at=at(0))
    join_call(call, c.student, at=at(5))
    assert stored(call) == at(5)
    leave_call(call, c.student, at=at(5))  # zero seconds together
    assert stored(call) is None
    assert list(held_calls()) == []


def test_the_same_person_in_two_tabs_does_not_hold_a_call(c):
    call = start_call(c.teacher, c.org, conversation=c.chat, at=at(0))
    join_call(call, c.teacher, at=at(0))
    connect(call, c.teacher, at=at(0))
    connect(call, c.teacher, at=at(1))
    disconnect(call, c.teacher, at=at(2))
    assert stored(call) is None


def test_one_after_the_other_is_not_held_and_removal_closes_a_stay(c):
    call = start_call(c.teacher, c.org, conversation=c.chat, at=at(0))
    join_call(call, c.teacher, at=at(0))
    leave_call(call, c.teacher, at=at(10))
    join_call(call, c.student, at=at(10))
    assert stored(call) is None
    join_call(call, c.teacher, at=at(11))
    assert stored(call) == at(11)
    remove_participant(call, c.student, by=c.teacher, at=at(11))
    assert stored(call) is None


def test_the_sweep_closes_silent_stays_and_keeps_the_moment(c, settings):
    settings.PARTA_CALL_HEARTBEAT_TIMEOUT = 30
    call = start_call(c.teacher, c.org, conversation=c.chat, at=at(0))
    join_call(call, c.teacher, at=at(0))
    connect(call, c.student, at=at(1))
    sweep_calls(now=at(60))
    assert CallParticipation.objects.filter(call=call, left_at__isnull=True).count() == 0
    # The student's stay was closed at the join (no heartbeat since): zero seconds shared.
    assert stored(call) is None
    assert not calls_with_stale_held().exists()


@pytest.mark.parametrize("seed", range(8))
def test_random_histories_store_what_the_rule_gives(school, seed):
    rng = random.Random(seed)  # noqa: S311 (a repeatable history, not a secret)
    people = [make_member(school, "teacher", f"Учитель {n}") for n in range(3)]
    expected: dict[int, datetime | None] = {}
    for _ in range(25):
        call = start_call(people[0], school, at=at(0))
        join_call(call, people[0], at=at(0))
        CallParticipation.objects.filter(call=call).delete()
        stays: list[Stay] = []
        for _ in range(rng.randint(0, 5)):
            joined = at(rng.randint(0, 6))
            left = None if rng.random() < 0.2 else joined + timedelta(minutes=rng.randint(0, 4))
            person = rng.randrange(3)
            if (person, joined) not in {(p, j) for p, j, _ in stays}:
                stays.append((person, joined, left))
        history = StaysFromHistory()
        history.add(
            [
                CallParticipation(call=call, person=people[p], joined_at=j, left_at=left)
                for p, j, left in stays
            ]
        )
        history.finish()
        expected[call.pk] = first_held_by_the_rule(stays)
    assert dict(Call.objects.values_list("pk", "held_at")) == expected
    assert sum(1 for moment in expected.values() if moment) == held_calls().count()
    assert not calls_with_stale_held().exists()


def test_a_stay_written_around_the_services_is_found_stale_and_repaired(c, capsys):
    call = start_call(c.teacher, c.org, conversation=c.chat, at=at(0))
    join_call(call, c.teacher, at=at(0))
    CallParticipation.objects.create(call=call, person=c.student, joined_at=at(2))
    assert list(calls_with_stale_held()) == [call]
    with pytest.raises(CommandError, match=r"0 weekly tallies .*, 1 calls' held moments"):
        call_command("check_counts")
    assert stored(call) is None  # checking alone changes nothing
    call_command("check_counts", "--repair")
    assert stored(call) == at(2)
    assert not calls_with_stale_held().exists()
    call_command("check_counts")
    assert "all counts agree" in capsys.readouterr().out


def test_every_kind_of_stale_moment_is_found(c):
    held = start_call(c.teacher, c.org, conversation=c.chat, at=at(0))
    join_call(held, c.teacher, at=at(0))
    join_call(held, c.student, at=at(3))
    unheld = start_call(c.teacher, c.org, at=at(10))
    join_call(unheld, c.teacher, at=at(10))
    moved = start_call(c.teacher, c.org, at=at(20))
    join_call(moved, c.teacher, at=at(20))
    join_call(moved, c.student, at=at(21))
    assert not calls_with_stale_held().exists()
    # Written around the services: stored held but no longer; stored empty but held now;
    # stored at one moment, held from another.
    CallParticipation.objects.filter(call=held, person=c.student).update(left_at=at(3))
    CallParticipation.objects.create(call=unheld, person=c.student, joined_at=at(11))
    CallParticipation.objects.filter(call=moved, person=c.student).update(joined_at=at(22))
    assert set(calls_with_stale_held()) == {held, unheld, moved}
    call_command("check_counts", "--repair")
    assert (stored(held), stored(unheld), stored(moved)) == (None, at(11), at(22))
    assert not calls_with_stale_held().exists()


def test_refreshing_many_calls_at_once(c, settings, monkeypatch):
    monkeypatch.setattr("parta.calls.services.REFRESH_BATCH", 2)
    calls = [start_call(c.teacher, c.org, at=at(n)) for n in range(5)]
    for n, call in enumerate(calls):
        CallParticipation.objects.create(call=call, person=c.teacher, joined_at=at(n))
        CallParticipation.objects.create(call=call, person=c.student, joined_at=at(n + 1))
    refresh_held(call.pk for call in calls)
    assert [stored(call) for call in calls] == [at(n + 1) for n in range(5)]

"""Events for a large audience are numbered after the sender's commit, a chunk at a time:
each person gets each event once and in the order published, whatever happens between
chunks."""

import time

import pytest
from django.db import transaction
from django.utils import timezone

from parta.asgi import application
from parta.realtime import fanout, services
from parta.realtime.models import PendingFanout, PersonEvent
from parta.realtime.services import fan_out_next, publish
from tests.factories import make_person

pytestmark = pytest.mark.django_db(transaction=True)


def wait_until(condition, timeout: float = 30.0) -> None:
    """Polls for what the fan-out thread does; the limit is only for a broken thread."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the fan-out thread did not finish"
        time.sleep(0.02)


def events_of(person) -> list[tuple[int, str]]:
    return list(PersonEvent.objects.filter(person=person).values_list("seq", "kind"))


@pytest.fixture
def small_limits(monkeypatch):
    monkeypatch.setattr(services, "INLINE_AUDIENCE", 3)
    monkeypatch.setattr(services, "FANOUT_CHUNK", 2)


@pytest.fixture
def no_thread(monkeypatch):
    """The test drives fan_out_next itself, one chunk at a time."""
    monkeypatch.setattr(services, "_wake_fanout", lambda: None)


@pytest.fixture
def people():
    return [make_person(f"Ученик{n} Иван") for n in range(5)]


def test_a_large_audience_is_one_row_in_the_senders_transaction(small_limits, no_thread, people):
    with transaction.atomic():
        publish([p.pk for p in people], "message.created", {"n": 1})
        assert PersonEvent.objects.count() == 0
    (pending,) = PendingFanout.objects.all()
    assert (pending.kind, pending.people, pending.done) == (
        "message.created",
        sorted(p.pk for p in people),
        0,
    )


def test_chunks_committed_before_a_crash_are_not_repeated(small_limits, no_thread, people):
    publish([p.pk for p in people], "message.created", {"n": 1})
    assert fan_out_next() is True  # the first two people, committed
    assert PendingFanout.objects.get().done == 2
    assert PersonEvent.objects.count() == 2
    # The process dies here; another one picks the fan-out up where it stopped.
    while fan_out_next():
        pass
    assert fan_out_next() is False
    assert not PendingFanout.objects.exists()
    for person in people:
        assert events_of(person) == [(1, "message.created")]


def test_a_small_event_waits_behind_a_pending_fan_out(small_limits, no_thread, people):
    first = people[0]
    publish([p.pk for p in people], "message.created", {"n": 1})
    publish([first.pk], "message.edited", {"n": 1})
    assert PersonEvent.objects.count() == 0  # both wait, in order
    while fan_out_next():
        pass
    assert events_of(first) == [(1, "message.created"), (2, "message.edited")]
    # Once nothing is pending, small audiences are numbered in the sender's transaction.
    publish([first.pk], "message.deleted", {})
    assert events_of(first)[-1] == (3, "message.deleted")


def test_a_rolled_back_send_leaves_no_fan_out(small_limits, no_thread, people):
    with pytest.raises(RuntimeError), transaction.atomic():
        publish([p.pk for p in people], "message.created", {"n": 1})
        raise RuntimeError
    assert not PendingFanout.objects.exists()


def test_the_thread_delivers_after_the_commit(small_limits, people):
    publish([p.pk for p in people], "message.created", {"n": 1})
    wait_until(lambda: not PendingFanout.objects.exists())
    assert sorted(PersonEvent.objects.values_list("person_id", "seq")) == sorted(
        (p.pk, 1) for p in people
    )


def test_a_fan_out_left_by_a_dead_process_is_finished_without_a_new_post(monkeypatch, people):
    monkeypatch.setattr(fanout, "SWEEP_EVERY", 0.05)
    PendingFanout.objects.create(
        kind="message.created",
        payload={"n": 1},
        people=sorted(p.pk for p in people),
        done=2,
        created_at=timezone.now(),
    )
    fanout.start()  # as the server's ASGI lifespan startup does
    wait_until(lambda: not PendingFanout.objects.exists())
    # The first two had theirs before the process died.
    assert sorted(PersonEvent.objects.values_list("person_id", flat=True)) == sorted(
        p.pk for p in people[2:]
    )


async def test_the_servers_lifespan_starts_the_thread(monkeypatch):
    started: list[bool] = []
    monkeypatch.setattr(fanout, "start", lambda: started.append(True))
    sent: list[dict] = []
    incoming = iter([{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}])

    async def receive() -> dict:
        return next(incoming)

    async def send(message: dict) -> None:
        sent.append(message)

    await application({"type": "lifespan"}, receive, send)
    assert started == [True]
    assert [m["type"] for m in sent] == [
        "lifespan.startup.complete",
        "lifespan.shutdown.complete",
    ]

"""Events for a large audience are numbered after the sender's commit, a chunk at a time:
each person gets each event once and in the order published, whatever happens between
chunks."""

import asyncio
import time

import pytest
from channels.db import database_sync_to_async
from django.db import transaction
from django.utils import timezone

from parta.asgi import application
from parta.realtime import fanout, services
from parta.realtime.models import PendingFanout, PersonEvent
from parta.realtime.services import fan_out_next, publish
from tests.factories import make_person
from tests.realtime.sockets import open_socket

TIMEOUT = 30.0

pytestmark = pytest.mark.django_db(transaction=True)


def events_of(person) -> list[tuple[int, str]]:
    return list(PersonEvent.objects.filter(person=person).values_list("seq", "kind"))


@pytest.fixture
def small_limits(monkeypatch):
    monkeypatch.setattr(services, "INLINE_AUDIENCE", 3)
    monkeypatch.setattr(services, "FANOUT_CHUNK", 2)


@pytest.fixture
def no_task(monkeypatch):
    """The test drives fan_out_next itself, one chunk at a time."""
    monkeypatch.setattr(services, "_wake_fanout", lambda: None)


@pytest.fixture
def people():
    return [make_person(f"Ученик{n} Иван") for n in range(5)]


def test_a_large_audience_is_one_row_in_the_senders_transaction(small_limits, no_task, people):
    with transaction.atomic():
        publish([p.pk for p in people], "message.created", {"n": 1})
        assert PersonEvent.objects.count() == 0
    (pending,) = PendingFanout.objects.all()
    assert (pending.kind, pending.people, pending.done) == (
        "message.created",
        sorted(p.pk for p in people),
        0,
    )


def test_chunks_committed_before_a_crash_are_not_repeated(small_limits, no_task, people):
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


def test_a_small_event_waits_behind_a_pending_fan_out_of_its_stream(small_limits, no_task, people):
    first = people[0]
    publish([p.pk for p in people], "message.created", {"n": 1}, stream="conversation-1")
    publish([first.pk], "message.edited", {"n": 1}, stream="conversation-1")
    assert PersonEvent.objects.count() == 0  # both wait, in order
    while fan_out_next():
        pass
    assert events_of(first) == [(1, "message.created"), (2, "message.edited")]
    # Once nothing is pending, small audiences are numbered in the sender's transaction.
    publish([first.pk], "message.deleted", {}, stream="conversation-1")
    assert events_of(first)[-1] == (3, "message.deleted")


def test_events_of_other_streams_go_ahead_of_a_pending_fan_out(small_limits, no_task, people):
    """A school channel's post waiting for its fan-out does not hold up a class chat."""
    first = people[0]
    publish([p.pk for p in people], "message.created", {"n": 1}, stream="conversation-1")
    publish([first.pk, people[1].pk], "message.created", {"n": 2}, stream="conversation-2")
    assert events_of(first) == [(1, "message.created")]
    assert PersonEvent.objects.get(person=first).payload == {"n": 2}
    while fan_out_next():
        pass
    assert [e.payload for e in PersonEvent.objects.filter(person=first)] == [{"n": 2}, {"n": 1}]
    assert [e.payload for e in PersonEvent.objects.filter(person=people[4])] == [{"n": 1}]


def test_an_event_without_a_stream_waits_behind_every_fan_out_and_holds_up_every_stream(
    small_limits, no_task, people
):
    first = people[0]
    publish([p.pk for p in people], "message.created", {"n": 1}, stream="conversation-1")
    publish([first.pk], "conversation.read", {"n": 2})
    assert PersonEvent.objects.count() == 0
    while fan_out_next():
        pass
    assert PersonEvent.objects.count() == 6
    publish([p.pk for p in people], "notice", {"n": 3})
    publish([first.pk], "message.created", {"n": 4}, stream="conversation-2")
    assert PersonEvent.objects.count() == 6  # both wait
    while fan_out_next():
        pass
    assert [(e.seq, e.payload) for e in PersonEvent.objects.filter(person=first)] == [
        (1, {"n": 1}),
        (2, {"n": 2}),
        (3, {"n": 3}),
        (4, {"n": 4}),
    ]


def test_a_rolled_back_send_leaves_no_fan_out(small_limits, no_task, people):
    with pytest.raises(RuntimeError), transaction.atomic():
        publish([p.pk for p in people], "message.created", {"n": 1})
        raise RuntimeError
    assert not PendingFanout.objects.exists()


class Server:
    """The server process's side: the ASGI lifespan, run on the test's event loop."""

    def __init__(self) -> None:
        self.messages: asyncio.Queue[dict] = asyncio.Queue()
        self.sent: list[str] = []

    async def __aenter__(self) -> "Server":
        self.task = asyncio.create_task(
            application({"type": "lifespan"}, self.messages.get, self._send)
        )
        await self.messages.put({"type": "lifespan.startup"})
        await self._wait_for("lifespan.startup.complete")
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.messages.put({"type": "lifespan.shutdown"})
        await asyncio.wait_for(self.task, TIMEOUT)
        assert self.sent == ["lifespan.startup.complete", "lifespan.shutdown.complete"]

    async def _send(self, message: dict) -> None:
        self.sent.append(message["type"])

    async def _wait_for(self, kind: str) -> None:
        while kind not in self.sent:
            await asyncio.sleep(0.01)


async def wait_for_no_pending() -> None:
    """Polls for what the fan-out task does; the limit is only for a broken task."""
    deadline = time.monotonic() + TIMEOUT
    while await database_sync_to_async(PendingFanout.objects.exists)():
        assert time.monotonic() < deadline, "the fan-out task did not finish"
        await asyncio.sleep(0.02)


async def test_the_servers_task_delivers_after_the_commit_live(small_limits):
    anna, *others = await database_sync_to_async(
        lambda: [make_person(f"Ученик{n} Иван") for n in range(5)]
    )()
    socket = await open_socket(anna)
    await socket.send_json_to({"type": "resume", "after": None})
    assert await socket.receive_json_from(TIMEOUT) == {"type": "ready", "seq": 0}
    async with Server():
        ids = [p.pk for p in [anna, *others]]
        await database_sync_to_async(publish)(ids, "message.created", {"n": 1})
        event = await socket.receive_json_from(TIMEOUT)
        assert (event["seq"], event["kind"], event["payload"]) == (1, "message.created", {"n": 1})
        await wait_for_no_pending()
    numbered = await database_sync_to_async(
        lambda: sorted(PersonEvent.objects.values_list("person_id", "seq"))
    )()
    assert numbered == sorted((pk, 1) for pk in ids)
    await socket.disconnect()


async def test_a_fan_out_left_by_a_dead_process_is_finished_without_a_new_post(monkeypatch):
    monkeypatch.setattr(fanout, "SWEEP_EVERY", 0.05)

    def leftover() -> list[int]:
        people = [make_person(f"Ученик{n} Иван").pk for n in range(5)]
        PendingFanout.objects.create(
            kind="message.created",
            payload={"n": 1},
            people=people,
            done=2,
            created_at=timezone.now(),
        )
        return people

    people = await database_sync_to_async(leftover)()
    async with Server():  # a server starting after the one that died
        await wait_for_no_pending()
    told = await database_sync_to_async(
        lambda: sorted(PersonEvent.objects.values_list("person_id", flat=True))
    )()
    # The first two had theirs before the process died.
    assert told == sorted(people[2:])


def test_a_commit_in_a_process_without_a_server_leaves_the_row_for_a_servers_sweep(
    small_limits, people
):
    publish([p.pk for p in people], "message.created", {"n": 1})
    assert PendingFanout.objects.get().done == 0

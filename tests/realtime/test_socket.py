"""The WebSocket at /ws/events/: sign-in, live events, catch-up without gap or duplicate."""

import asyncio
import datetime as dt
import uuid

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

from parta.realtime import consumers, services
from parta.realtime.models import EventCursor, PersonEvent
from parta.realtime.services import prune_events, publish
from tests.factories import make_person
from tests.realtime.sockets import open_socket, socket

pytestmark = pytest.mark.django_db(transaction=True)

TIMEOUT = 3


async def person(name: str = "Иванова Анна Петровна"):
    return await database_sync_to_async(make_person)(name)


async def send(people, kind: str = "message.new", payload: dict | None = None) -> None:
    await database_sync_to_async(publish)([p.pk for p in people], kind, payload or {})


async def receive(communicator) -> dict:
    return await communicator.receive_json_from(timeout=TIMEOUT)


async def receive_seqs(communicator, count: int) -> list[int]:
    seqs = []
    for _ in range(count):
        message = await receive(communicator)
        assert message["type"] == "event", message
        seqs.append(message["seq"])
    return seqs


async def resume(communicator, after) -> dict:
    await communicator.send_json_to({"type": "resume", "after": after})
    return await receive(communicator)


async def test_an_anonymous_visitor_is_closed_with_4401():
    communicator = socket()
    connected, _ = await communicator.connect()
    assert connected
    closing = await communicator.receive_output(TIMEOUT)
    assert closing == {"type": "websocket.close", "code": 4401}
    await communicator.wait()


async def test_a_forged_session_is_closed_with_4401():
    communicator = socket(cookie="not-a-session")
    await communicator.connect()
    assert (await communicator.receive_output(TIMEOUT))["code"] == 4401
    await communicator.wait()


async def test_a_published_event_arrives_live_with_its_number():
    anna = await person()
    communicator = await open_socket(anna)
    assert await resume(communicator, None) == {"type": "ready", "seq": 0}

    sent_at = timezone.now()
    key = uuid.uuid4()
    await send([anna], "message.new", {"text": "Привет", "at": sent_at, "key": key})

    event = await receive(communicator)
    assert event["type"] == "event"
    assert event["seq"] == 1
    assert event["kind"] == "message.new"
    # Dates and ids travel as JSON text (Django's encoding), live exactly as from the log.
    as_text = DjangoJSONEncoder().default(sent_at)
    assert event["payload"] == {"text": "Привет", "at": as_text, "key": str(key)}
    assert dt.datetime.fromisoformat(event["at"]) <= timezone.now()
    stored = await database_sync_to_async(PersonEvent.objects.get)(person=anna)
    assert stored.as_message() == event
    await communicator.disconnect()


async def test_reconnect_catches_up_with_no_gap_and_no_duplicate_then_goes_live():
    anna = await person()
    first = await open_socket(anna, "/ws/events/?after=0")
    assert await receive(first) == {"type": "ready", "seq": 0}
    await send([anna])
    await send([anna])
    assert await receive_seqs(first, 2) == [1, 2]
    await first.disconnect()

    for _ in range(3):  # while the tab is away
        await send([anna])

    second = await open_socket(anna, "/ws/events/?after=2")
    assert await receive_seqs(second, 3) == [3, 4, 5]
    assert await receive(second) == {"type": "ready", "seq": 5}
    assert await second.receive_nothing()

    await send([anna])
    assert await receive_seqs(second, 1) == [6]
    assert await second.receive_nothing()
    await second.disconnect()


async def test_the_resume_message_works_like_the_query_string():
    anna = await person()
    for _ in range(3):
        await send([anna])
    communicator = await open_socket(anna)
    await communicator.send_json_to({"type": "resume", "after": 1})
    assert await receive_seqs(communicator, 2) == [2, 3]
    assert await receive(communicator) == {"type": "ready", "seq": 3}
    await communicator.disconnect()


async def test_live_events_before_the_resume_wait_and_are_not_sent_twice():
    """The socket joins the person's group before it reads the log: events published in
    between arrive both live and from the log, and each is sent once, in order."""
    anna = await person()
    communicator = await open_socket(anna)  # joined, but has not said where it stands
    await send([anna])
    await send([anna])
    assert await communicator.receive_nothing()

    await communicator.send_json_to({"type": "resume", "after": 0})
    assert await receive_seqs(communicator, 2) == [1, 2]
    assert await receive(communicator) == {"type": "ready", "seq": 2}
    assert await communicator.receive_nothing()
    await communicator.disconnect()


async def test_an_event_lost_by_the_channel_layer_is_fetched_when_the_next_one_skips_it(
    monkeypatch,
):
    monkeypatch.setattr(consumers, "GAP_WAIT", 0.05)
    anna = await person()
    communicator = await open_socket(anna, "/ws/events/?after=0")
    await receive(communicator)
    real_deliver = services._deliver
    monkeypatch.setattr(services, "_deliver", lambda messages: None)
    await send([anna], payload={"n": 1})  # committed, never delivered live
    monkeypatch.setattr(services, "_deliver", real_deliver)
    assert await communicator.receive_nothing()

    await send([anna], payload={"n": 2})
    first, second = await receive(communicator), await receive(communicator)
    assert (first["seq"], first["payload"]) == (1, {"n": 1})
    assert (second["seq"], second["payload"]) == (2, {"n": 2})
    assert await communicator.receive_nothing()
    await communicator.disconnect()


async def test_a_ping_recovers_a_lost_last_event_and_answers_pong(monkeypatch):
    anna = await person()
    communicator = await open_socket(anna, "/ws/events/?after=0")
    await receive(communicator)
    monkeypatch.setattr(services, "_deliver", lambda messages: None)
    await send([anna])

    await communicator.send_json_to({"type": "ping"})
    assert await receive_seqs(communicator, 1) == [1]
    assert await receive(communicator) == {"type": "pong", "seq": 1}
    await communicator.send_json_to({"type": "ping"})
    assert await receive(communicator) == {"type": "pong", "seq": 1}
    await communicator.disconnect()


async def test_a_ping_with_nothing_lost_reads_no_events(monkeypatch):
    anna = await person()
    communicator = await open_socket(anna, "/ws/events/?after=0")
    await receive(communicator)
    await send([anna])
    assert await receive_seqs(communicator, 1) == [1]
    reads = []
    monkeypatch.setattr(consumers, "catch_up", lambda *args: reads.append(args))
    for _ in range(3):
        await communicator.send_json_to({"type": "ping"})
        assert await receive(communicator) == {"type": "pong", "seq": 1}
    assert reads == []
    await communicator.disconnect()


async def test_one_persons_events_never_reach_another():
    anna, boris = await person("Иванова Анна"), await person("Борисов Борис")
    to_anna = await open_socket(anna, "/ws/events/?after=0")
    to_boris = await open_socket(boris, "/ws/events/?after=0")
    await receive(to_anna)
    await receive(to_boris)

    await send([anna], payload={"for": "anna"})
    assert (await receive(to_anna))["payload"] == {"for": "anna"}
    assert await to_boris.receive_nothing()

    await send([anna, boris], payload={"for": "both"})
    to_a, to_b = await receive(to_anna), await receive(to_boris)
    assert (to_a["seq"], to_a["payload"]) == (2, {"for": "both"})
    assert (to_b["seq"], to_b["payload"]) == (1, {"for": "both"})
    assert await to_anna.receive_nothing()
    assert await to_boris.receive_nothing()
    await to_anna.disconnect()
    await to_boris.disconnect()


async def test_a_rolled_back_transaction_sends_nothing_and_leaves_no_hole():
    anna = await person()
    communicator = await open_socket(anna, "/ws/events/?after=0")
    await receive(communicator)

    def publish_then_fail() -> None:
        with transaction.atomic():
            publish([anna.pk], "message.new", {"text": "не будет"})
            raise RuntimeError("the writer failed")

    with pytest.raises(RuntimeError):
        await database_sync_to_async(publish_then_fail)()
    assert await communicator.receive_nothing()
    assert await database_sync_to_async(PersonEvent.objects.count)() == 0
    cursor = await database_sync_to_async(EventCursor.objects.filter(person=anna).first)()
    assert cursor is None

    await send([anna], payload={"text": "будет"})
    event = await receive(communicator)
    assert (event["seq"], event["payload"]) == (1, {"text": "будет"})
    await communicator.disconnect()


async def test_a_tab_back_from_before_the_pruned_events_is_told_to_resync():
    anna = await person()
    for _ in range(3):
        await send([anna])
    await database_sync_to_async(prune_events)(timezone.now() + dt.timedelta(seconds=1))

    behind = await open_socket(anna, "/ws/events/?after=1")
    assert await receive(behind) == {"type": "resync", "seq": 3}
    assert await receive(behind) == {"type": "ready", "seq": 3}
    await send([anna])
    assert await receive_seqs(behind, 1) == [4]
    await behind.disconnect()

    up_to_date = await open_socket(anna, "/ws/events/?after=4")
    assert await receive(up_to_date) == {"type": "ready", "seq": 4}
    await up_to_date.disconnect()


async def test_a_tab_ahead_of_the_log_is_told_to_resync():
    anna = await person()
    await send([anna])
    communicator = await open_socket(anna, "/ws/events/?after=40")
    assert await receive(communicator) == {"type": "resync", "seq": 1}
    assert await receive(communicator) == {"type": "ready", "seq": 1}
    await communicator.disconnect()


@pytest.mark.parametrize(
    "frame",
    [
        "не json",
        '{"type": "resume", "after": -1}',
        '{"type": "resume", "after": "два"}',
        '{"type": "resume", "after": true}',
        '{"type": "subscribe", "group": "person-1"}',
        "[1, 2]",
    ],
)
async def test_bad_frames_get_a_clear_error_and_the_socket_stays(frame):
    anna = await person()
    communicator = await open_socket(anna)
    await communicator.send_to(text_data=frame)
    error = await receive(communicator)
    assert error["type"] == "error"
    assert error["detail"]
    await communicator.send_json_to({"type": "ping"})
    assert await receive(communicator) == {"type": "pong", "seq": None}
    await communicator.disconnect()


async def test_a_bad_after_in_the_query_string_gets_an_error():
    anna = await person()
    communicator = await open_socket(anna, "/ws/events/?after=x")
    assert (await receive(communicator))["type"] == "error"
    assert await resume(communicator, 0) == {"type": "ready", "seq": 0}
    await communicator.disconnect()


async def test_a_silent_connection_is_closed(monkeypatch):
    monkeypatch.setattr(consumers, "SILENCE_LIMIT", 0.3)
    anna = await person()
    communicator = await open_socket(anna)
    closing = await communicator.receive_output(TIMEOUT)
    assert closing == {"type": "websocket.close", "code": 4408}
    await communicator.disconnect()


async def test_live_events_reach_the_tab_without_a_thread_hop_each(monkeypatch):
    # channels' own dispatch hops to a thread to close stale connections before every
    # handler: 30 hops per message in a 30-member chat.
    hops: list[object] = []

    async def counted() -> None:
        hops.append(1)

    monkeypatch.setattr("channels.consumer.aclose_old_connections", counted)
    anna = await person()
    communicator = await open_socket(anna)
    assert await resume(communicator, None) == {"type": "ready", "seq": 0}
    for _ in range(20):
        await send([anna])
    assert await receive_seqs(communicator, 20) == list(range(1, 21))
    assert hops == []
    await communicator.disconnect()


async def test_an_open_tab_renews_its_groups_before_the_layer_forgets_them(monkeypatch):
    # Channel layers drop a group membership after a day; the tab joins again in time.
    monkeypatch.setattr(consumers, "SILENCE_LIMIT", 3.0)
    monkeypatch.setattr(consumers, "GROUPS_RENEWED_EVERY", 0.0)
    anna = await person()
    group = services.person_group(anna.pk)
    layer = get_channel_layer()
    joins: list[str] = []
    renewed = asyncio.Event()
    join = layer.group_add

    async def group_add(name: str, channel_name: str) -> None:
        await join(name, channel_name)
        if name == group:
            joins.append(channel_name)
            if len(joins) == 2:
                renewed.set()

    monkeypatch.setattr(layer, "group_add", group_add)
    communicator = await open_socket(anna)
    assert await resume(communicator, None) == {"type": "ready", "seq": 0}
    await asyncio.wait_for(renewed.wait(), TIMEOUT)
    assert joins[0] == joins[1]  # the same socket, joined again
    await send([anna])
    assert await receive_seqs(communicator, 1) == [1]
    await communicator.disconnect()


async def test_events_that_arrive_out_of_order_go_out_in_order_without_reading_the_log(
    monkeypatch,
):
    # Two workers' sends reach the channel layer in either order.
    anna = await person()
    communicator = await open_socket(anna, "/ws/events/?after=0")
    assert await receive(communicator) == {"type": "ready", "seq": 0}
    reads: list[object] = []
    monkeypatch.setattr(consumers, "catch_up", lambda *args: reads.append(args))
    held: list[list] = []
    monkeypatch.setattr(services, "_deliver", held.append)
    await send([anna], payload={"n": 1})
    await send([anna], payload={"n": 2})
    [(_, first)], [(_, second)] = held
    layer = get_channel_layer()
    for event in (second, first):
        await layer.group_send(
            services.person_group(anna.pk), {"type": "person.event", "event": event}
        )
    assert [(await receive(communicator))["payload"]["n"] for _ in range(2)] == [1, 2]
    assert reads == []
    await communicator.disconnect()


async def test_a_ping_while_events_flow_waits_for_them_and_the_next_ping_recovers_a_loss(
    monkeypatch,
):
    anna = await person()
    communicator = await open_socket(anna, "/ws/events/?after=0")
    await receive(communicator)
    await send([anna], payload={"n": 1})
    assert await receive_seqs(communicator, 1) == [1]
    monkeypatch.setattr(services, "_deliver", lambda messages: None)
    await send([anna], payload={"n": 2})  # committed, still "on its way"
    reads = []
    real_catch_up = consumers.catch_up

    def counted_catch_up(*args):
        reads.append(args)
        return real_catch_up(*args)

    monkeypatch.setattr(consumers, "catch_up", counted_catch_up)
    # Event 1 came live since the socket opened: number 2 may still be in flight.
    await communicator.send_json_to({"type": "ping"})
    assert await receive(communicator) == {"type": "pong", "seq": 1}
    assert reads == []
    # Nothing came live since that ping: number 2 is lost, and this ping reads it.
    await communicator.send_json_to({"type": "ping"})
    assert await receive_seqs(communicator, 1) == [2]
    assert await receive(communicator) == {"type": "pong", "seq": 2}
    assert len(reads) == 1
    await communicator.disconnect()


async def test_a_ping_with_a_gap_open_reads_the_missing_event_at_once(monkeypatch):
    # Event 1's process died after storing it: only event 2 comes live.
    anna = await person()
    communicator = await open_socket(anna, "/ws/events/?after=0")
    assert await receive(communicator) == {"type": "ready", "seq": 0}
    held: list[list] = []
    monkeypatch.setattr(services, "_deliver", held.append)
    await send([anna], payload={"n": 1})
    await send([anna], payload={"n": 2})
    [(_, second)] = held[1]
    await get_channel_layer().group_send(
        services.person_group(anna.pk), {"type": "person.event", "event": second}
    )
    # Event 2 came live, but it is not next: the ping reads the log, long before the gap
    # would be read on its own (GAP_WAIT).
    await communicator.send_json_to({"type": "ping"})
    assert await receive_seqs(communicator, 2) == [1, 2]
    assert await receive(communicator) == {"type": "pong", "seq": 2}
    await communicator.disconnect()

"""The embedded in-memory channel layer: its expiry scan runs at most once a second, and
what expires still leaves its groups; a sender thread hands its events over without waiting."""

import asyncio

from channels.layers import InMemoryChannelLayer as ChannelsInMemoryLayer

from parta.realtime.layers import InMemoryChannelLayer


async def test_a_thousand_group_sends_scan_for_expired_entries_once(monkeypatch):
    scans: list[int] = []
    original = ChannelsInMemoryLayer._clean_expired

    def counted(self):
        scans.append(1)
        original(self)

    monkeypatch.setattr(ChannelsInMemoryLayer, "_clean_expired", counted)
    layer = InMemoryChannelLayer(capacity=2000)
    layer.clean_every = 3600.0
    names = [await layer.new_channel() for _ in range(200)]
    for name in names:
        await layer.group_add("person-1", name)
    for n in range(1000):
        await layer.group_send("person-1", {"type": "person.event", "n": n})
    # Every channel got every message, and the scan of 200 channels ran once, not 1,000 times.
    assert [(await layer.receive(name))["n"] for name in names[:2]] == [0, 0]
    assert len(scans) == 1


async def test_an_expired_message_still_takes_its_channel_out_of_the_groups():
    layer = InMemoryChannelLayer(expiry=0)
    layer.clean_every = 0.0
    stale, fresh = await layer.new_channel(), await layer.new_channel()
    await layer.group_add("person-1", stale)
    await layer.send(stale, {"type": "person.event", "n": 0})
    await layer.group_add("person-1", fresh)
    await layer.group_send("person-1", {"type": "person.event", "n": 1})
    assert set(layer.groups["person-1"]) == {fresh}


async def test_a_sender_thread_hands_its_events_to_the_sockets_loop_without_waiting():
    layer = InMemoryChannelLayer()
    tab = await layer.new_channel()
    await layer.group_add("person-1", tab)
    message = {"type": "person.event", "event": {"seq": 1}}

    # The loop is busy in this test while the thread hands over: it only queues the send.
    handed = await asyncio.to_thread(layer.group_send_many_soon, [("person-1", message)])

    assert handed is True
    assert await asyncio.wait_for(layer.receive(tab), 3) == message


def test_with_no_sockets_loop_running_the_sender_is_told_to_send_itself():
    layer = InMemoryChannelLayer()
    assert layer.group_send_many_soon([("person-1", {"type": "person.event"})]) is False

    async def join() -> None:
        await layer.group_add("person-1", await layer.new_channel())

    asyncio.run(join())  # that loop is closed now
    assert layer.group_send_many_soon([("person-1", {"type": "person.event"})]) is False


async def test_the_sockets_loop_itself_sends_and_waits():
    layer = InMemoryChannelLayer()
    await layer.group_add("person-1", await layer.new_channel())
    assert layer.group_send_many_soon([("person-1", {"type": "person.event"})]) is False


async def test_a_group_message_is_one_object_shared_by_its_channels_and_a_full_one_misses_it():
    layer = InMemoryChannelLayer(capacity=1)
    full, free = await layer.new_channel(), await layer.new_channel()
    for name in (full, free):
        await layer.group_add("person-1", name)
    await layer.send(full, {"type": "person.event", "n": 0})
    message = {"type": "person.event", "n": 1}

    await layer.group_send_many([("person-1", message)])

    assert await layer.receive(free) is message
    assert (await layer.receive(full))["n"] == 0
    assert layer.channels.get(full) is None  # drained, so nothing is left behind

"""The embedded in-memory channel layer: its expiry scan runs at most once a second, and
what expires still leaves its groups."""

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

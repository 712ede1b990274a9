"""On the Redis channel layer a live socket outlasts any silence, and thousands of sockets
joining and leaving at once raise nothing."""

import asyncio
import os
import uuid

import pytest
from channels.db import database_sync_to_async
from redis.exceptions import MaxConnectionsError
from redis.exceptions import TimeoutError as RedisTimeoutError

from parta.realtime.layers import RedisChannelLayer
from parta.realtime.services import publish
from tests.factories import make_person
from tests.realtime.sockets import open_socket

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True)]

READ_TIMEOUT = 1.0  # the client's socket read timeout in these tests (15 s in production)


@pytest.fixture
def redis_layer(settings):
    redis_url = os.environ.get("REDIS_URL", "")
    if not redis_url:
        pytest.skip("the Redis channel layer needs a real Redis: set REDIS_URL")
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "parta.realtime.layers.RedisChannelLayer",
            "CONFIG": {
                "hosts": [redis_url],
                "prefix": f"parta-test-{uuid.uuid4().hex[:12]}",
                "socket_timeout": READ_TIMEOUT,
                "max_connections": 10,
            },
        }
    }
    return redis_url


async def test_a_socket_keeps_receiving_after_a_silence_longer_than_the_read_timeout(
    redis_layer,
):
    anna = await database_sync_to_async(make_person)("Иванова Анна")
    communicator = await open_socket(anna, "/ws/events/?after=0")
    assert await communicator.receive_json_from(timeout=3) == {"type": "ready", "seq": 0}
    # The silence under test: three read timeouts with nothing on the socket's channel.
    # (Not a wait for an event; with the library's own pool the receive died within one.)
    await asyncio.sleep(3 * READ_TIMEOUT)
    assert await communicator.receive_nothing(timeout=0.1)
    await database_sync_to_async(publish)([anna.pk], "message.new", {"text": "после тишины"})
    event = await communicator.receive_json_from(timeout=3)
    assert (event["seq"], event["payload"]) == (1, {"text": "после тишины"})
    await communicator.disconnect()


async def test_the_library_layer_alone_loses_an_idle_receive(redis_layer):
    """What the subclass fixes: channels_redis' 5 s pop against a shorter read timeout."""
    from channels_redis.core import RedisChannelLayer as LibraryLayer

    layer = LibraryLayer(hosts=[{"address": redis_layer, "socket_timeout": READ_TIMEOUT}])
    channel = await layer.new_channel()
    with pytest.raises(RedisTimeoutError):
        await layer.receive(channel)
    await layer.close_pools()


def _layers(redis_url: str, max_connections: int):
    """Parta's layer and the library's own, each allowed `max_connections` at once."""
    from channels_redis.core import RedisChannelLayer as LibraryLayer

    prefix = f"parta-test-{uuid.uuid4().hex[:12]}"
    ours = RedisChannelLayer(hosts=[redis_url], prefix=prefix, max_connections=max_connections)
    library = LibraryLayer(
        hosts=[{"address": redis_url, "max_connections": max_connections}], prefix=prefix
    )
    return ours, library


async def _join_and_leave(layer, names: list[str]) -> None:
    await asyncio.gather(*(layer.group_add("school", name) for name in names))
    await asyncio.gather(*(layer.group_discard("school", name) for name in names))


async def test_many_sockets_joining_and_leaving_at_once_wait_for_a_connection(redis_layer):
    ours, library = _layers(redis_layer, max_connections=10)
    names = [f"specific.{uuid.uuid4().hex}!x" for _ in range(500)]
    # The library's pool refuses the 11th command in flight...
    with pytest.raises(MaxConnectionsError):
        await _join_and_leave(library, names)
    # ...Parta's lends the 10 connections in turn: all 500 join, then all leave.
    await asyncio.gather(*(ours.group_add("school", name) for name in names))
    redis = ours.connection(0)
    assert await redis.zcard(ours._group_key("school")) == 500
    await asyncio.gather(*(ours.group_discard("school", name) for name in names))
    assert await redis.zcard(ours._group_key("school")) == 0
    await ours.close_pools()
    await library.close_pools()


async def test_a_batch_reaches_every_groups_channels_in_two_round_trips_per_redis(redis_layer):
    layer = RedisChannelLayer(
        hosts=[redis_layer], prefix=f"parta-test-{uuid.uuid4().hex[:12]}", capacity=1000
    )
    # Two tabs for each of 300 people: process-local channels, as the consumers have.
    tabs = {n: [await layer.new_channel(), await layer.new_channel()] for n in range(300)}
    for n, channels in tabs.items():
        for channel in channels:
            await layer.group_add(f"person-{n}", channel)
    client = layer.connection(0)
    calls: list[str] = []
    evaluate, pipeline = client.eval, client.pipeline

    def counted_eval(*args):
        calls.append("eval")
        return evaluate(*args)

    def counted_pipeline(**kw):
        calls.append("pipeline")
        return pipeline(**kw)

    client.eval, client.pipeline = counted_eval, counted_pipeline
    await layer.group_send_many([(f"person-{n}", {"type": "person.event", "n": n}) for n in tabs])
    assert calls == ["pipeline", "eval"]
    for n, channels in tabs.items():
        for channel in channels:
            assert (await asyncio.wait_for(layer.receive(channel), 5))["n"] == n
    await layer.flush()


def _count(client, names: list[str], calls: list[str]) -> None:
    for name in names:
        original = getattr(client, name)

        def counted(*args, _name=name, _original=original, **kwargs):
            calls.append(_name)
            return _original(*args, **kwargs)

        setattr(client, name, counted)


async def test_a_process_takes_its_sockets_messages_off_redis_many_at_a_time(redis_layer):
    layer = RedisChannelLayer(
        hosts=[redis_layer], prefix=f"parta-test-{uuid.uuid4().hex[:12]}", capacity=1000
    )
    tabs = [await layer.new_channel() for _ in range(600)]
    for n, channel in enumerate(tabs):
        await layer.group_add(f"person-{n}", channel)
    # Two messages each for the first ten people: their order must hold.
    await layer.group_send_many(
        [(f"person-{n}", {"type": "person.event", "n": n, "k": 0}) for n in range(600)]
        + [(f"person-{n}", {"type": "person.event", "n": n, "k": 1}) for n in range(10)]
    )
    calls: list[str] = []
    _count(layer.connection(0), ["eval", "bzpopmin", "delete", "zadd", "zpopmin"], calls)
    for n, channel in enumerate(tabs):
        expected = [0, 1] if n < 10 else [0]
        got = [await asyncio.wait_for(layer.receive(channel), 5) for _ in expected]
        assert [(m["n"], m["k"]) for m in got] == [(n, k) for k in expected]
    # 610 messages: two scripts of 500 and 110 and their two cleanups, where the library
    # takes four round trips for each message (2,440).
    assert calls == ["eval", "delete", "eval", "delete"]
    await layer.flush()


async def test_a_receive_cancelled_while_waiting_loses_nothing(redis_layer):
    layer = RedisChannelLayer(
        hosts=[redis_layer],
        prefix=f"parta-test-{uuid.uuid4().hex[:12]}",
        socket_timeout=READ_TIMEOUT,
    )
    tab = await layer.new_channel()
    waiting = asyncio.ensure_future(layer.receive(tab))
    blocked = asyncio.Event()
    client = layer.connection(0)
    bzpopmin = client.bzpopmin

    def pop(*args, **kwargs):
        blocked.set()
        return bzpopmin(*args, **kwargs)

    client.bzpopmin = pop
    await asyncio.wait_for(blocked.wait(), 5)  # the receive blocks in Redis
    waiting.cancel()
    # On Python 3.11 redis-py's send may drop this cancel: the receive then ends when its
    # blocking pop does (a third of the read timeout), where it used to go on for ever.
    await asyncio.wait_for(asyncio.gather(waiting, return_exceptions=True), 3 * READ_TIMEOUT)
    assert waiting.cancelled()
    await layer.send(tab, {"type": "person.event", "n": 1})
    assert (await asyncio.wait_for(layer.receive(tab), 5))["n"] == 1
    await layer.flush()

"""With REDIS_URL, two server processes deliver to each other's clients.

Two `uvicorn parta.asgi:application` processes share the test database and the Redis
channel layer; the test process is a third one that publishes. Events reach a client of
process A and of process B, and a client that reconnects to the other process catches up.
"""

import asyncio
import json
import os
import uuid

import pytest
from channels.db import database_sync_to_async
from django.conf import settings
from django.db import connection
from websockets.asyncio.client import ClientConnection, connect

from parta.realtime.services import publish
from tests.factories import make_person
from tests.realtime.servers import server_env, uvicorn_servers
from tests.realtime.sockets import session_cookie

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True)]

TIMEOUT = 5


@pytest.fixture
def shared_redis(transactional_db, settings, tmp_path):
    """A channel-layer prefix of this test's own on the real Redis, for it and the servers."""
    redis_url = os.environ.get("REDIS_URL", "")
    if not redis_url:
        pytest.skip("cross-process delivery needs a real Redis: set REDIS_URL")
    if connection.vendor != "postgresql":
        pytest.skip(
            "the server processes must see the test's rows: run with DATABASE_URL (PostgreSQL)"
        )
    prefix = f"parta-test-{uuid.uuid4().hex[:12]}"
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "parta.realtime.layers.RedisChannelLayer",
            "CONFIG": {"hosts": [redis_url], "prefix": prefix},
        }
    }
    return redis_url, prefix


@pytest.fixture
def two_servers(shared_redis, tmp_path):
    """Ports of two uvicorn processes running the production settings on the test database."""
    redis_url, prefix = shared_redis
    env = server_env(REDIS_URL=redis_url, PARTA_CHANNELS_PREFIX=prefix)
    with uvicorn_servers(env, tmp_path, count=2) as ports:
        yield ports


async def _open(port: int, cookie: str, after: int) -> ClientConnection:
    client = await connect(
        f"ws://127.0.0.1:{port}/ws/events/?after={after}",
        origin=f"http://127.0.0.1:{port}",  # type: ignore[arg-type]
        additional_headers={"Cookie": f"{settings.SESSION_COOKIE_NAME}={cookie}"},
    )
    return client


async def _next(client: ClientConnection) -> dict:
    return json.loads(await asyncio.wait_for(client.recv(), TIMEOUT))


async def _nothing_within(client: ClientConnection, seconds: float = 1.0) -> bool:
    try:
        await asyncio.wait_for(client.recv(), seconds)
    except TimeoutError:
        return True
    return False


async def test_events_published_elsewhere_reach_clients_of_both_server_processes(two_servers):
    port_a, port_b = two_servers
    xenia = await database_sync_to_async(make_person)("Ксенофонтова Ксения")
    yuri = await database_sync_to_async(make_person)("Юрьев Юрий")
    xenia_cookie = await database_sync_to_async(session_cookie)(xenia)
    yuri_cookie = await database_sync_to_async(session_cookie)(yuri)

    on_a = await _open(port_a, xenia_cookie, after=0)
    on_b = await _open(port_b, yuri_cookie, after=0)
    try:
        assert await _next(on_a) == {"type": "ready", "seq": 0}
        assert await _next(on_b) == {"type": "ready", "seq": 0}

        await database_sync_to_async(publish)([xenia.pk], "cross", {"to": "xenia"})
        event = await _next(on_a)
        assert (event["seq"], event["kind"], event["payload"]) == (1, "cross", {"to": "xenia"})
        assert await _nothing_within(on_b)

        await database_sync_to_async(publish)([xenia.pk, yuri.pk], "cross", {"to": "both"})
        to_x, to_y = await _next(on_a), await _next(on_b)
        assert (to_x["seq"], to_x["payload"]) == (2, {"to": "both"})
        assert (to_y["seq"], to_y["payload"]) == (1, {"to": "both"})
    finally:
        await on_a.close()

    # Xenia's tab is away; it comes back through the other process and misses nothing.
    await database_sync_to_async(publish)([xenia.pk], "cross", {"to": "xenia", "n": 3})
    back_on_b = await _open(port_b, xenia_cookie, after=2)
    try:
        missed = await _next(back_on_b)
        assert (missed["seq"], missed["payload"]) == (3, {"to": "xenia", "n": 3})
        assert await _next(back_on_b) == {"type": "ready", "seq": 3}
        await database_sync_to_async(publish)([xenia.pk], "cross", {"n": 4})
        assert (await _next(back_on_b))["seq"] == 4
        assert await _nothing_within(on_b)
    finally:
        await back_on_b.close()
        await on_b.close()


async def test_an_anonymous_client_of_a_server_process_is_closed_with_4401(two_servers):
    client = await connect(
        f"ws://127.0.0.1:{two_servers[0]}/ws/events/",
        origin=f"http://127.0.0.1:{two_servers[0]}",  # type: ignore[arg-type]
    )
    try:
        await asyncio.wait_for(client.wait_closed(), TIMEOUT)
    finally:
        await client.close()
    assert client.close_code == 4401

"""A server process killed with SIGKILL in the middle of a burst of sends loses nothing:
every message whose send was acknowledged reaches every member of the chat, live or by
catch-up, and none reaches anyone twice; a send that was cut off is retried with its
idempotency key on the surviving process and stored once.

Two uvicorn processes share the test database (PostgreSQL) and the Redis channel layer.
Half the members listen on the process that dies, half on the one that survives; the
teacher sends through the one that dies."""

import asyncio
import json
import os
import signal
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field

import pytest
from channels.db import database_sync_to_async
from django.conf import settings
from django.db import connection
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from parta.messaging.models import Message
from parta.messaging.services import create_conversation
from tests.factories import make_member, make_org
from tests.realtime.servers import server_env, uvicorn_processes
from tests.realtime.sockets import session_cookie

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True)]

TIMEOUT = 10
BURST = 40
KILL_AFTER = 12  # acknowledged sends before the kill: the rest are in flight or not yet sent


@pytest.fixture
def dying_and_surviving(transactional_db, settings, tmp_path):
    redis_url = os.environ.get("REDIS_URL", "")
    if not redis_url:
        pytest.skip("two server processes need the Redis channel layer: set REDIS_URL")
    if connection.vendor != "postgresql":
        pytest.skip("the server processes must see the test's rows: run with PostgreSQL")
    prefix = f"parta-test-{uuid.uuid4().hex[:12]}"
    env = server_env(REDIS_URL=redis_url, PARTA_CHANNELS_PREFIX=prefix)
    with uvicorn_processes(env, tmp_path, count=2) as started:
        yield started


@dataclass
class Member:
    person_id: int
    cookie: str
    socket: ClientConnection | None = None
    last_seq: int = 0
    seqs: list[int] = field(default_factory=list)
    messages: list[int] = field(default_factory=list)  # ids of message.created events


async def _open(port: int, member: Member) -> None:
    member.socket = await connect(
        f"ws://127.0.0.1:{port}/ws/events/?after={member.last_seq}",
        origin=f"http://127.0.0.1:{port}",  # type: ignore[arg-type]
        additional_headers={"Cookie": f"{settings.SESSION_COOKIE_NAME}={member.cookie}"},
    )


def _take(member: Member, message: dict) -> bool:
    """Record one server message; True at a «ready» or «pong»."""
    if message["type"] == "event":
        member.seqs.append(message["seq"])
        member.last_seq = message["seq"]
        if message["kind"] == "message.created":
            member.messages.append(message["payload"]["message"]["id"])
    return message["type"] in ("ready", "pong")


async def _listen(member: Member) -> None:
    """Everything the socket brings until it closes (the dying process) or is cancelled."""
    assert member.socket is not None
    try:
        async for raw in member.socket:
            _take(member, json.loads(raw))
    except ConnectionClosed:
        pass


async def _read_until_answer(member: Member) -> None:
    """Record what the socket brings up to its «ready» or «pong»."""
    assert member.socket is not None
    while not _take(member, json.loads(await asyncio.wait_for(member.socket.recv(), TIMEOUT))):
        pass


async def _settle(member: Member, expected: int) -> None:
    """Ping until the member has `expected` messages: a ping catches up when the log is
    ahead and either nothing came live since the last ping or a gap is open."""
    assert member.socket is not None
    for _ in range(3):
        await member.socket.send(json.dumps({"type": "ping"}))
        await _read_until_answer(member)
        if len(member.messages) >= expected:
            return


def _post(port: int, cookie: str, csrf: str, conversation_id: int, key: str) -> int | None:
    """Send one message; its id when the server acknowledged it, None when cut off."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/messaging/conversations/{conversation_id}/messages",
        data=json.dumps({"text": f"сообщение {key}", "idempotency_key": key}).encode(),
        headers={
            "Content-Type": "application/json",
            "X-CSRFToken": csrf,
            "Origin": f"http://127.0.0.1:{port}",
            "Referer": f"http://127.0.0.1:{port}/",
            "Cookie": f"{settings.SESSION_COOKIE_NAME}={cookie}; csrftoken={csrf}",
        },
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:  # noqa: S310
            return json.loads(response.read())["id"]
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return None


def _world() -> tuple[int, str, list[Member]]:
    school = make_org(name="МБОУ СОШ №7")
    teacher = make_member(school, "teacher", "Смирнова Елена Викторовна")
    students = [make_member(school, "student", f"Ученик{n} Иван") for n in range(6)]
    chat = create_conversation(teacher, school, title="5А", members=students)
    members = [Member(p.pk, session_cookie(p)) for p in [teacher, *students]]
    return chat.pk, session_cookie(teacher), members


async def test_a_killed_worker_loses_no_acknowledged_message_and_doubles_none(
    dying_and_surviving,
):
    (dying, dying_process), (surviving, _process) = dying_and_surviving
    chat_id, teacher_cookie, members = await database_sync_to_async(_world)()
    csrf = uuid.uuid4().hex  # Django accepts any token the cookie and the header agree on
    for n, member in enumerate(members):
        await _open(dying if n % 2 else surviving, member)
        await _read_until_answer(member)
    listeners = [asyncio.create_task(_listen(member)) for member in members]

    keys = [f"burst-{n}" for n in range(BURST)]
    acknowledged: dict[str, int] = {}

    async def sender(mine: list[str]) -> None:
        for key in mine:
            message_id = await asyncio.to_thread(_post, dying, teacher_cookie, csrf, chat_id, key)
            if message_id is None:
                return  # the process is gone: the rest are retried below
            acknowledged[key] = message_id
            if len(acknowledged) == KILL_AFTER:
                dying_process.send_signal(signal.SIGKILL)

    await asyncio.gather(*(sender(keys[n::4]) for n in range(4)))
    dying_process.wait(TIMEOUT)
    assert KILL_AFTER <= len(acknowledged) < BURST

    # The cut-off sends are retried on the survivor with the same keys.
    for key in keys:
        if key not in acknowledged:
            message_id = await asyncio.to_thread(
                _post, surviving, teacher_cookie, csrf, chat_id, key
            )
            assert message_id is not None, key
            acknowledged[key] = message_id
    stored = await database_sync_to_async(
        lambda: list(Message.objects.filter(conversation_id=chat_id, is_service=False))
    )()
    assert sorted(m.idempotency_key for m in stored) == sorted(keys)  # each once

    # The dying process's listeners come back on the survivor from where they were.
    for n, member in enumerate(members):
        if n % 2:
            await asyncio.wait_for(listeners[n], TIMEOUT)
            await _open(surviving, member)
            listeners[n] = asyncio.create_task(_listen(member))
    for task in listeners:
        task.cancel()
    await asyncio.gather(*listeners, return_exceptions=True)
    for member in members:
        await _settle(member, len(acknowledged))
        await member.socket.close()

    expected = sorted(acknowledged.values())
    for member in members:
        assert sorted(member.messages) == expected, member.person_id
        assert member.seqs == sorted(set(member.seqs)), member.person_id  # none twice

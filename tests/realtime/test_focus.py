"""A tab tells the socket which stream it shows with focus; every worker reads it from the
cache (realtime.selectors.focused_streams) until the tab says otherwise or goes away."""

import pytest
from channels.db import database_sync_to_async

from parta.realtime.selectors import focused_streams
from tests.factories import make_person
from tests.realtime.sockets import open_socket

pytestmark = pytest.mark.django_db(transaction=True)

TIMEOUT = 3


async def _pong(communicator) -> None:
    # Messages are handled in order: once the pong is here, the focus before it is stored.
    await communicator.send_json_to({"type": "ping"})
    assert (await communicator.receive_json_from(timeout=TIMEOUT))["type"] == "pong"


async def test_focus_is_kept_until_the_tab_blurs_or_closes():
    person = await database_sync_to_async(make_person)()
    first, second = await open_socket(person), await open_socket(person)
    await first.send_json_to({"type": "focus", "stream": "conversation-7"})
    await second.send_json_to({"type": "focus", "stream": "conversation-9"})
    await _pong(first)
    await _pong(second)
    assert focused_streams([person.pk]) == {person.pk: {"conversation-7", "conversation-9"}}
    await second.send_json_to({"type": "focus", "stream": None})
    await _pong(second)
    assert focused_streams([person.pk]) == {person.pk: {"conversation-7"}}
    await first.disconnect()
    assert focused_streams([person.pk]) == {}
    await second.send_json_to({"type": "focus", "stream": 12})
    assert (await second.receive_json_from(timeout=TIMEOUT))["type"] == "error"
    await second.disconnect()

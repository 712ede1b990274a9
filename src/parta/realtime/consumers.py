"""The WebSocket at /ws/events/: a signed-in person's events, caught up from the log, then live.

Protocol, JSON both ways:
  client → {"type": "resume", "after": N or null}   (or ?after=N in the URL), {"type": "ping"},
           {"type": "focus", "stream": "conversation-12" or null}: what the tab shows with
           focus (renewed with each ping; notifications push nothing about it)
  server → {"type": "event", "seq", "kind", "payload", "at"}, {"type": "ready", "seq"} after
           each resume, {"type": "resync", "seq"}, {"type": "pong", "seq": where the client
           stands}, {"type": "error", "detail"}
Close codes: 4401 not signed in (or signed out: the page stops), 4408 silent, 4412 the person
left an organization (the page reconnects, so what it is owed is decided afresh).
"""

import asyncio
import json
from typing import Any
from urllib.parse import parse_qs

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.utils.translation import gettext as _

from parta.realtime.selectors import catch_up, last_seq
from parta.realtime.services import person_group, set_focus
from parta.realtime.sessions import sessions_group, signed_in

NOT_SIGNED_IN = 4401
GONE_SILENT = 4408
LEFT_ORGANIZATION = 4412
# The page pings every 25 s; after three missed pings the connection is taken for dead.
SILENCE_LIMIT = 75.0
# A live event that skips a number is held this long (or until this many more arrive) for
# the missing one before the log is read: at 50 msg/s into a 30-member chat on two workers,
# reading it at once made catch-up queries 185 of 3,383 py-spy samples of the servers.
GAP_WAIT = 1.0
GAP_EVENTS = 50
# Channel layers forget a group membership after a day (channels' group_expiry): a tab
# left open overnight would get its events only from the catch-up at its next ping.
GROUPS_RENEWED_EVERY = 3600.0


def _parse_after(value: object) -> int | None:
    """A sequence number from the client; ValueError when it is not one."""
    if value is None:
        return None
    if isinstance(value, str) and value.isdecimal():
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    raise ValueError(value)


def _ping_state(session_key: str | None, person: Any) -> tuple[bool, int]:
    return signed_in(session_key, person.pk), last_seq(person)


class PersonEventsConsumer(AsyncJsonWebsocketConsumer):
    """Joins the person's group before reading the log, so an event committed after the read
    still arrives live. Live events that come before the client has said where it stands
    wait; a live event at or below the last number sent is a duplicate and is dropped; one
    that skips a number (channel layers deliver at most once) triggers a catch-up from the
    log, unless the missing one arrives within GAP_WAIT. Messages are handled one at a time, so
    a catch-up never interleaves with live ones.
    """

    group: str | None = None
    watchdog: asyncio.Task[None] | None = None
    gap_check: asyncio.Future[None] | None = None
    # Set once the socket is being closed: nothing more is delivered on it.
    closing = False
    # A live event came since the last ping.
    heard_live = False
    # The stream this tab shows with focus (set_focus), renewed at each ping.
    focus: str | None = None

    async def connect(self) -> None:
        user = self.scope.get("user")
        # Accept first: a refused handshake reaches the page as a bare failure, while the
        # 4401 close code tells it to stop retrying.
        await self.accept()
        if user is None or not user.is_authenticated:
            await self.close(code=NOT_SIGNED_IN)
            return
        self.person = user
        self.last_sent: int | None = None
        self.waiting: list[dict[str, Any]] = []
        # Live events that came ahead of a missing number, and since when it is missing.
        self.early: dict[int, dict[str, Any]] = {}
        self.gap_since: float | None = None
        self.heard_at = asyncio.get_running_loop().time()
        self.session_key = self.scope["session"].session_key
        self.group = person_group(user.pk)
        await self._join_groups()
        self.watchdog = asyncio.create_task(self._close_when_silent())
        query = parse_qs(self.scope.get("query_string", b"").decode())
        if "after" in query:
            await self._resume(query["after"][-1])

    async def disconnect(self, code: int) -> None:
        if self.watchdog is not None:
            self.watchdog.cancel()
        if self.focus is not None:
            await set_focus(self.person.pk, self.channel_name, None, SILENCE_LIMIT)
        if self.group is not None:
            await self.channel_layer.group_discard(self.group, self.channel_name)
            await self.channel_layer.group_discard(
                sessions_group(self.person.pk), self.channel_name
            )

    async def dispatch(self, message: dict[str, Any]) -> None:
        # channels hops to a thread before every handler to close stale database
        # connections: once per live event per socket (1,500 hops a second at 50 msg/s
        # into a 30-member chat). These handlers reach the database only through
        # database_sync_to_async, which closes stale connections itself.
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def _join_groups(self) -> None:
        await self.channel_layer.group_add(person_group(self.person.pk), self.channel_name)
        await self.channel_layer.group_add(sessions_group(self.person.pk), self.channel_name)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        try:
            content = json.loads(text_data or "")
        except ValueError:
            await self._error(_("Ожидается JSON."))
            return
        await self.receive_json(content)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if self.closing:
            return
        self.heard_at = asyncio.get_running_loop().time()
        kind = content.get("type") if isinstance(content, dict) else None
        if kind == "ping":
            # One hop to the database thread, two primary-key reads: the close message of
            # a sign-out may have been lost (the session is read again), and so may the
            # last event (the log's newest number says so). Only then is the log read: a
            # thousand idle tabs' pings once ran a catch-up query each, queued in front
            # of the sends in Django's one thread for sync database work.
            alive, newest = await database_sync_to_async(_ping_state)(self.session_key, self.person)
            if not alive:
                await self._close(NOT_SIGNED_IN)
                return
            # While live events keep coming in order, newer numbers are on their way, not
            # lost: the next ping looks again. Reading the log at every ping of a busy tab
            # made catch-ups 590 of 2,026 py-spy samples of the servers at 50 msg/s. A gap
            # is read at once: its event may have died with the process that sent it.
            behind = self.last_sent is not None and newest > self.last_sent
            if behind and (not self.heard_live or self.early):
                await self._catch_up(self.last_sent)
            self.heard_live = False
            if self.focus is not None:
                await set_focus(self.person.pk, self.channel_name, self.focus, SILENCE_LIMIT)
            await self.send_json({"type": "pong", "seq": self.last_sent})
        elif kind == "resume":
            await self._resume(content.get("after"))
        elif kind == "focus":
            stream = content.get("stream")
            if stream is not None and not (isinstance(stream, str) and 0 < len(stream) <= 100):
                await self._error(_("stream должен быть строкой до 100 символов или null."))
                return
            self.focus = stream
            await set_focus(self.person.pk, self.channel_name, stream, SILENCE_LIMIT)
        else:
            await self._error(_("Неизвестное сообщение: ожидается resume, ping или focus."))

    async def person_event(self, message: dict[str, Any]) -> None:
        """A live event from the channel layer (services.publish)."""
        event = message["event"]
        if self.closing:
            return
        if self.last_sent is None:
            self.waiting.append(event)
            return
        if event["seq"] <= self.last_sent:
            return
        self.heard_live = True
        self.early[event["seq"]] = event
        await self._send_in_order()
        if not self.early:
            return
        loop = asyncio.get_running_loop()
        if self.gap_since is None:
            # Most gaps close by themselves: concurrent sends from two workers reach the
            # layer in either order. The log is read only if this one stays open.
            self.gap_since = loop.time()
            loop.call_later(GAP_WAIT, self._check_gap_later)
        elif loop.time() - self.gap_since >= GAP_WAIT or len(self.early) > GAP_EVENTS:
            await self._catch_up(self.last_sent)

    async def person_gap(self, message: dict[str, Any]) -> None:
        """GAP_WAIT after a gap opened (a message to itself, so it queues behind events)."""
        if self.closing or self.gap_since is None:
            return
        if asyncio.get_running_loop().time() - self.gap_since >= GAP_WAIT:
            await self._catch_up(self.last_sent)

    def _check_gap_later(self) -> None:
        if not self.closing:
            self.gap_check = asyncio.ensure_future(
                self.channel_layer.send(self.channel_name, {"type": "person.gap"})
            )

    async def _send_in_order(self) -> None:
        """Sends the held events that now follow the last one sent, in number order."""
        while self.last_sent is not None and self.last_sent + 1 in self.early:
            event = self.early.pop(self.last_sent + 1)
            await self.send_json(event)
            self.last_sent = event["seq"]
        if not self.early:
            self.gap_since = None

    async def sessions_close(self, message: dict[str, Any]) -> None:
        """The person signed out (this browser session or another) or left an organization."""
        if message["session_key"] is None:
            await self._close(LEFT_ORGANIZATION)
        elif message["session_key"] == self.session_key:
            await self._close(NOT_SIGNED_IN)

    async def _close(self, code: int) -> None:
        self.closing = True
        await self.close(code=code)

    async def _resume(self, raw_after: object) -> None:
        try:
            after = _parse_after(raw_after)
        except ValueError:
            await self._error(_("after должен быть неотрицательным целым числом."))
            return
        await self._catch_up(after)
        await self.send_json({"type": "ready", "seq": self.last_sent})
        waiting, self.waiting = self.waiting, []
        for event in waiting:
            await self.person_event({"event": event})

    async def _catch_up(self, after: int | None) -> None:
        more = True
        while more:
            result = await database_sync_to_async(catch_up)(self.person, after)
            if result.resync:
                await self.send_json({"type": "resync", "seq": result.seq})
            for event in result.events:
                await self.send_json(event.as_message())
            self.last_sent = after = result.seq
            more = result.more
        # What the log gave covers the held events up to its newest; any later ones follow.
        newest = result.seq
        self.early = {seq: event for seq, event in self.early.items() if seq > newest}
        await self._send_in_order()
        if self.early:
            self.gap_since = asyncio.get_running_loop().time()

    async def _close_when_silent(self) -> None:
        loop = asyncio.get_running_loop()
        joined_at = loop.time()
        while True:
            await asyncio.sleep(SILENCE_LIMIT / 3)
            if loop.time() - self.heard_at > SILENCE_LIMIT:
                await self._close(GONE_SILENT)
                return
            if loop.time() - joined_at > GROUPS_RENEWED_EVERY:
                await self._join_groups()
                joined_at = loop.time()

    async def _error(self, detail: str) -> None:
        await self.send_json({"type": "error", "detail": detail})

"""The WebSocket at /ws/calls/<call_id>/: signaling (offer, answer, ICE) and attendance.

Protocol, JSON both ways. Each connection is one peer with a random id.
  client → {"type": "heartbeat"} every ~10 s; {"type": "signal", "to": peer, "data": {...}}
           (an SDP offer/answer or an ICE candidate, relayed as is); {"type": "state",
           "audio", "video", "screen", "hand"}; {"type": "leave"}; and for the creator and
           admins {"type": "mute" | "remove", "peer": peer}, {"type": "end"}
  server → {"type": "welcome", "peer", "me", "moderator", "ice_servers", "media", "call"};
           {"type": "peer-joined", "peer", "name", "state", "offer"} ("offer": true — this
           side makes the offer: the newcomer offers to everyone already there);
           {"type": "peer-left", "peer"}; {"type": "signal", "from", "data"};
           {"type": "state", "peer", "state"}; {"type": "media", ...plan, "janus"};
           {"type": "muted"};
           {"type": "removed"}, {"type": "ended"} (then the socket closes); {"type": "error"}
"media" (in welcome, and again whenever it changes) is the plan of calls.media: topology
"mesh" (the pages connect to each other) or "janus" (each page publishes to and subscribes
through Janus's VideoRoom with "janus": {server, room, token, display}, its own credentials;
a mesh call that grows past the limit moves there and every page is told).
Close codes: 4403 refused (or signed out), 4404 no such call, 4408 silent, 4409 removed from
the call or from its organization, 4410 ended.

Attendance: connecting opens (or joins) the person's stay, the last tab leaving closes it;
a tab silent for PARTA_CALL_HEARTBEAT_TIMEOUT seconds is closed and its stay ends at its
last message. Calls are small, so one channel-layer group per call carries presence.
"""

import asyncio
import json
import logging
import secrets
from datetime import datetime
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from parta.accounts.models import Person
from parta.calls import services
from parta.calls.janus import JanusError
from parta.calls.media import JANUS, ice_servers, media_backend
from parta.calls.models import Call, CallGuest
from parta.calls.selectors import call_data, may_join, may_manage, present_count
from parta.calls.services import call_group
from parta.calls.sessions import guest_identity, link_hash_for
from parta.realtime.sessions import sessions_group, signed_in

CLOSE_REFUSED = 4403
CLOSE_NOT_FOUND = 4404
CLOSE_SILENT = 4408
CLOSE_REMOVED = 4409
CLOSE_ENDED = 4410
MAX_SIGNAL_CHARS = 64_000
STATE_KEYS = ("audio", "video", "screen", "hand")
log = logging.getLogger(__name__)


class CallConsumer(AsyncJsonWebsocketConsumer):
    call: Call
    entered = False
    person: Person | None = None
    guest: CallGuest | None = None
    group: str | None = None
    watchdog: asyncio.Task[None] | None = None
    finished = False
    janus: dict[str, Any] | None = None  # this tab's Janus credentials, once on Janus

    async def connect(self) -> None:
        # Accept first so that the close code (refused, ended) reaches the page.
        await self.accept()
        refusal = await database_sync_to_async(self._enter)()
        if refusal is not None:
            await self.close(code=refusal)
            return
        self.entered = True
        self.peer = secrets.token_hex(8)
        self.peers: dict[str, dict[str, Any]] = {}
        loop = asyncio.get_running_loop()
        self.heard_at = loop.time()
        self.heard_wall = timezone.now()
        self.timeout = float(settings.PARTA_CALL_HEARTBEAT_TIMEOUT)
        self.state = {"audio": True, "video": self.media["video"], "screen": False, "hand": False}
        self.group = call_group(self.call.pk)
        await self.channel_layer.group_add(self.group, self.channel_name)
        if self.person is not None:
            await self.channel_layer.group_add(sessions_group(self.person.pk), self.channel_name)
        await self.send_json(
            {
                "type": "welcome",
                "peer": self.peer,
                "me": self.info,
                "moderator": self.moderator,
                "ice_servers": self.ice_servers,
                "media": {**self.media, "janus": self.janus},
                "call": json.loads(json.dumps(call_data(self.call), default=str)),
            }
        )
        await self.channel_layer.group_send(self.group, self._presence("call.hello"))
        await self.channel_layer.group_send(self.group, {"type": "call.media", "plan": self.media})
        self.watchdog = asyncio.create_task(self._close_when_silent())

    def _enter(self) -> int | None:
        """Check the right to be here and record the stay; a close code when refused."""
        call_id = self.scope["url_route"]["kwargs"]["call_id"]
        call = (
            Call.objects.select_related("conversation", "organization", "created_by")
            .filter(pk=call_id)
            .first()
        )
        if call is None:
            return CLOSE_NOT_FOUND
        if call.ended_at is not None:
            return CLOSE_ENDED
        user = self.scope.get("user")
        person = user if user is not None and user.is_authenticated else None
        session = self.scope.get("session") or {}
        now = timezone.now()
        if not may_join(person, call, now, link_hash=link_hash_for(session, call.pk)):
            return CLOSE_REFUSED
        # Stays left open by a process that died are closed before counting who is here.
        services.sweep_calls(now=now, call=call)
        try:
            if person is not None:
                services.connect(call, person, at=now)
                identity = f"p{person.pk}"
                self.info = {"name": person.full_name, "person_id": person.pk, "guest_id": None}
            else:
                guest = guest_identity(session)
                if guest is None:
                    return CLOSE_REFUSED
                self.guest = services.guest_enter(call, guest[0], guest[1], at=now)
                identity = f"g{self.guest.pk}"
                self.info = {
                    "name": self.guest.display_name,
                    "person_id": None,
                    "guest_id": self.guest.pk,
                }
        except ValidationError:
            return CLOSE_ENDED
        except PermissionDenied:
            return CLOSE_REFUSED
        self.call, self.person = call, person
        self.session_key = getattr(session, "session_key", None)
        self.moderator = person is not None and may_manage(person, call, now)
        self.ice_servers = ice_servers(identity, now)
        self.identity = identity
        # A call that has just outgrown the mesh moves to Janus now; the plan this tab sends
        # its group below tells everyone in it.
        services.settle_media(call)
        self.media = self._plan()
        if call.media == JANUS:
            self.janus = self._admit()
        return None

    def _admit(self) -> dict[str, Any] | None:
        """This tab's way into the call's Janus room; None (the page says so) when Janus
        does not answer."""
        try:
            return media_backend(self.call).admit(
                self.call, self.identity, self.info["name"], timezone.now()
            )
        except JanusError as failure:
            log.warning("call %s: Janus refused a participant: %s", self.call.pk, failure)
            return None

    def _presence(self, kind: str) -> dict[str, Any]:
        return {
            "type": kind,
            "peer": self.peer,
            "channel": self.channel_name,
            "info": self.info,
            "state": self.state,
        }

    async def disconnect(self, code: int) -> None:
        await self._finish(timezone.now())

    async def _finish(self, at: datetime, *, record: bool = True) -> None:
        """Leave once: record the end of the stay (unless it is already closed) and tell the
        others. Reached by leave, silence, removal, end and a plain disconnect."""
        if self.finished or not self.entered:
            return
        self.finished = True
        if self.watchdog is not None and self.watchdog is not asyncio.current_task():
            self.watchdog.cancel()
        if record:
            await database_sync_to_async(self._record_leave)(at)
        if self.person is not None:
            await self.channel_layer.group_discard(
                sessions_group(self.person.pk), self.channel_name
            )
        if self.group is not None:
            await self.channel_layer.group_discard(self.group, self.channel_name)
            await self.channel_layer.group_send(
                self.group, {"type": "call.left", "peer": self.peer}
            )
            plan = await database_sync_to_async(self._plan)()
            await self.channel_layer.group_send(self.group, {"type": "call.media", "plan": plan})

    def _record_leave(self, at: datetime) -> None:
        if self.person is not None:
            services.disconnect(self.call, self.person, at=at)
        elif self.guest is not None:
            services.guest_leave(self.guest, at=at)

    def _plan(self) -> dict[str, Any]:
        return media_backend(self.call).plan(self.call, present_count(self.call)).as_dict()

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if not self.entered or self.finished:
            return
        try:
            content = json.loads(text_data or "")
        except ValueError:
            await self._error(_("Ожидается JSON."))
            return
        await self.receive_json(content)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        self.heard_at = asyncio.get_running_loop().time()
        self.heard_wall = timezone.now()
        kind = content.get("type") if isinstance(content, dict) else None
        if kind == "heartbeat":
            await self._heartbeat()
        elif kind == "signal":
            await self._relay(content)
        elif kind == "state":
            await self._set_state(content)
        elif kind == "leave":
            await self._finish(timezone.now())
            await self.close(code=1000)
        elif kind in ("mute", "remove", "end"):
            await self._moderate(kind, content)
        else:
            await self._error(_("Неизвестное сообщение."))

    async def _heartbeat(self) -> None:
        if not await database_sync_to_async(self._still_signed_in)():
            # The close message of a sign-out was lost: the session is read again here.
            await self._finish(timezone.now())
            await self.close(code=CLOSE_REFUSED)
            return
        try:
            await database_sync_to_async(self._record_heartbeat)()
        except (ValidationError, PermissionDenied):
            # Swept, then the call ended or the person was removed meanwhile.
            await self._finish(timezone.now(), record=False)
            await self.close(code=CLOSE_ENDED)

    def _still_signed_in(self) -> bool:
        return self.person is None or signed_in(self.session_key, self.person.pk)

    def _record_heartbeat(self) -> None:
        if self.person is not None:
            services.heartbeat(self.call, self.person)
        elif self.guest is not None and not services.guest_heartbeat(self.guest):
            # The guest's stay was closed for silence: a new stay from now.
            self.guest = services.guest_enter(self.call, self.guest.key, self.guest.display_name)
            self.info["guest_id"] = self.guest.pk

    async def _relay(self, content: dict[str, Any]) -> None:
        target = self.peers.get(str(content.get("to")))
        data = content.get("data")
        if target is None:
            await self._error(_("Такого участника в звонке нет."))
        elif not isinstance(data, dict) or len(json.dumps(data)) > MAX_SIGNAL_CHARS:
            await self._error(_("Сигнальное сообщение должно быть объектом до 64 000 знаков."))
        else:
            await self.channel_layer.send(
                target["channel"], {"type": "call.signal", "from": self.peer, "data": data}
            )

    async def _set_state(self, content: dict[str, Any]) -> None:
        changes = {key: content[key] for key in STATE_KEYS if key in content}
        if not changes or not all(isinstance(value, bool) for value in changes.values()):
            await self._error(_("Состояние: audio, video, screen, hand — true или false."))
            return
        self.state.update(changes)
        await self.channel_layer.group_send(
            self.group or "", {"type": "call.state", "peer": self.peer, "state": self.state}
        )

    async def _moderate(self, kind: str, content: dict[str, Any]) -> None:
        if not self.moderator:
            await self._error(_("Это могут только создатель звонка и администраторы школы."))
            return
        if kind == "end":  # the service tells every socket of the call
            await database_sync_to_async(self._end)()
            return
        target = self.peers.get(str(content.get("peer")))
        if target is None:
            await self._error(_("Такого участника в звонке нет."))
            return
        if kind == "mute":
            await self.channel_layer.send(target["channel"], {"type": "call.mute"})
            return
        try:
            await database_sync_to_async(self._remove)(target["info"])
        except (ValidationError, PermissionDenied) as refused:
            detail = refused.messages if isinstance(refused, ValidationError) else [str(refused)]
            await self._error(" ".join(detail))

    def _end(self) -> None:
        if self.person is not None:  # guests never moderate
            services.finish_call(self.call, by=self.person)

    def _remove(self, info: dict[str, Any]) -> None:
        if self.person is None:  # guests never moderate
            raise PermissionDenied
        if info["person_id"] is not None:
            person = Person.objects.get(pk=info["person_id"])
            services.remove_participant(self.call, person, by=self.person)
        else:
            guest = CallGuest.objects.select_related("call").get(pk=info["guest_id"])
            services.remove_guest(guest, by=self.person)

    # ------------------------------------------------ messages from the call's group

    async def call_hello(self, message: dict[str, Any]) -> None:
        """A newcomer: remember it, tell the page (which waits for its offer), answer it."""
        if message["peer"] == self.peer or self.finished:
            return
        self.peers[message["peer"]] = message
        await self._peer_joined(message, offer=False)
        await self.channel_layer.send(message["channel"], self._presence("call.present"))

    async def call_present(self, message: dict[str, Any]) -> None:
        """Someone already in the call answered our hello: this side makes the offer."""
        if self.finished:
            return
        self.peers[message["peer"]] = message
        await self._peer_joined(message, offer=True)

    async def _peer_joined(self, message: dict[str, Any], *, offer: bool) -> None:
        await self.send_json(
            {
                "type": "peer-joined",
                "peer": message["peer"],
                "name": message["info"]["name"],
                "person_id": message["info"]["person_id"],
                "state": message["state"],
                "offer": offer,
            }
        )

    async def call_signal(self, message: dict[str, Any]) -> None:
        await self.send_json({"type": "signal", "from": message["from"], "data": message["data"]})

    async def call_left(self, message: dict[str, Any]) -> None:
        if self.peers.pop(message["peer"], None) is not None:
            await self.send_json({"type": "peer-left", "peer": message["peer"]})

    async def call_state(self, message: dict[str, Any]) -> None:
        if message["peer"] in self.peers:
            self.peers[message["peer"]]["state"] = message["state"]
            await self.send_json(
                {"type": "state", "peer": message["peer"], "state": message["state"]}
            )

    async def call_media(self, message: dict[str, Any]) -> None:
        """The plan changed (someone came or went); when the call has just moved to Janus,
        this tab gets its credentials for the room first."""
        if self.finished:
            return
        plan = message["plan"]
        if plan["topology"] == JANUS and self.janus is None:
            self.call.media = JANUS
            self.janus = await database_sync_to_async(self._admit)()
        await self.send_json({"type": "media", **plan, "janus": self.janus})

    async def call_mute(self, message: dict[str, Any]) -> None:
        await self.send_json({"type": "muted"})

    async def call_removed(self, message: dict[str, Any]) -> None:
        """Someone was removed (here or through the API); if it is this tab, it goes."""
        person_id, guest_id = message["person_id"], message["guest_id"]
        mine = (person_id is not None and person_id == self.info["person_id"]) or (
            guest_id is not None and guest_id == self.info["guest_id"]
        )
        if self.finished or not mine:
            return
        await self.send_json({"type": "removed"})
        await self._finish(timezone.now(), record=False)
        await self.close(code=CLOSE_REMOVED)

    async def call_ended(self, message: dict[str, Any]) -> None:
        if self.finished:
            return
        await self.send_json({"type": "ended"})
        await self._finish(timezone.now(), record=False)
        await self.close(code=CLOSE_ENDED)

    async def sessions_close(self, message: dict[str, Any]) -> None:
        """This browser session signed out, or the person left the call's organization."""
        if self.finished:
            return
        if message["session_key"] is not None:
            if message["session_key"] != self.session_key:
                return  # another browser of the person signed out
            code = CLOSE_REFUSED
        elif message["organization_id"] in (None, self.call.organization_id):
            code = CLOSE_REMOVED
        else:
            return
        await self._finish(timezone.now())
        await self.close(code=code)

    async def _close_when_silent(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(min(5.0, self.timeout / 3))
            if loop.time() - self.heard_at > self.timeout:
                # The stay ends when the tab was last heard of, not when we noticed.
                await self._finish(self.heard_wall)
                await self.close(code=CLOSE_SILENT)
                return

    async def _error(self, detail: str) -> None:
        await self.send_json({"type": "error", "detail": detail})

"""Parta's side of a Janus SFU: VideoRoom rooms through Janus's HTTP API, each participant's
token, and the signed identity Janus's events carry back to Parta.

Rooms: Parta's requests carry the API secret (`api_secret` in janus.jcfg); creating a room
takes the VideoRoom plugin's `admin_key`; each room has its own secret (derived from
SECRET_KEY, never stored), which destroying or changing it needs. Room number = call id.

Tokens, and why these: Janus offers stored tokens (added and removed through its Admin API,
valid until removed) and signed tokens (`token_auth_secret`: "<expiry>,janus,<plugins…>"
with an HMAC-SHA1 signature, checked without any call back). Parta signs its tokens, so a
token expires by itself after PARTA_JANUS_TOKEN_TTL seconds and the Admin API stays closed.
A signed token admits to the Janus core only; the room is locked by the VideoRoom's own ACL
(`allowed`): Parta adds the participant's token to their call's room only, so the same token
is refused at any other room's door. An extra item in the token (`parta-<call>-<identity>-
<nonce>`, which Janus ignores as an unknown plugin name) makes it unique per person.

Attendance: Janus's event handler reports each join with the token it was made with, so
Parta ties the join to a person by its own signature, without trusting the browser's
display name (`token_identity`).
"""

import base64
import contextlib
import hashlib
import hmac
import json
import secrets
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.crypto import constant_time_compare, salted_hmac

VIDEOROOM = "janus.plugin.videoroom"
# VideoRoom's error codes that mean "already so".
NO_SUCH_ROOM = 426
ROOM_EXISTS = 427


class JanusError(Exception):
    """Janus did not answer, or answered with an error."""


class RoomError(JanusError):
    """The VideoRoom plugin refused a request, with its error code."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(f"VideoRoom error {code}: {reason}")
        self.code = code


@dataclass(frozen=True)
class JanusConfig:
    url: str  # Parta's way to Janus's HTTP API, e.g. http://127.0.0.1:8088/janus
    public_url: str  # the browsers' way to the same API
    api_secret: str
    admin_key: str
    token_secret: str
    token_ttl: int
    timeout: float


def janus_config() -> JanusConfig | None:
    """The configured Janus, or None: then every call is a mesh."""
    if not settings.PARTA_JANUS_URL:
        return None
    if not settings.PARTA_JANUS_URL.startswith(("http://", "https://")):
        raise ImproperlyConfigured("PARTA_JANUS_URL must be an http:// or https:// URL.")
    return JanusConfig(
        url=settings.PARTA_JANUS_URL.rstrip("/"),
        public_url=(settings.PARTA_JANUS_PUBLIC_URL or settings.PARTA_JANUS_URL).rstrip("/"),
        api_secret=settings.PARTA_JANUS_API_SECRET,
        admin_key=settings.PARTA_JANUS_ADMIN_KEY,
        token_secret=settings.PARTA_JANUS_TOKEN_SECRET,
        token_ttl=settings.PARTA_JANUS_TOKEN_TTL,
        timeout=settings.PARTA_JANUS_TIMEOUT,
    )


def signed_token(secret: str, expires: int, nonce: str) -> str:
    """Janus's signed-token form: "<expiry>,janus,<plugin>[,…]:<base64 HMAC-SHA1>"."""
    data = f"{expires},janus,{VIDEOROOM},{nonce}"
    digest = hmac.new(secret.encode(), data.encode(), hashlib.sha1).digest()
    return f"{data}:{base64.b64encode(digest).decode()}"


def participant_token(config: JanusConfig, room: int, identity: str, now: int) -> str:
    nonce = f"parta-{room}-{identity}-{secrets.token_hex(8)}"
    return signed_token(config.token_secret, now + config.token_ttl, nonce)


def room_secret(room: int) -> str:
    return salted_hmac("parta.calls.janus.room", str(room), algorithm="sha256").hexdigest()


def token_identity(config: JanusConfig, room: int, token: str) -> str | None:
    """The identity ("p<person id>") of a token Parta signed for this room, as Janus's event
    handler reports it on a join; None for any other token."""
    data, _sep, signature = token.partition(":")
    digest = hmac.new(config.token_secret.encode(), data.encode(), hashlib.sha1).digest()
    if not signature or not constant_time_compare(signature, base64.b64encode(digest).decode()):
        return None
    nonce = data.split(",")[-1].split("-")
    if len(nonce) != 4 or nonce[0] != "parta" or nonce[1] != str(room):
        return None
    return nonce[2]


class JanusClient:
    """Synchronous requests to the VideoRoom plugin over Janus's HTTP API: each one opens a
    session, attaches, sends one message and destroys the session."""

    def __init__(self, config: JanusConfig) -> None:
        self.config = config

    def _send(self, path: str, body: dict[str, Any] | None) -> dict[str, Any]:
        url = self.config.url + path
        data = None
        if body is not None:
            body = {"transaction": secrets.token_hex(8), **body}
            if self.config.api_secret:
                body["apisecret"] = self.config.api_secret
            data = json.dumps(body).encode()
        # The URL is Parta's own setting, http(s) only (janus_config checks it).
        request = urllib.request.Request(  # noqa: S310
            url, data=data, headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=self.config.timeout) as response:  # noqa: S310
                answer = json.loads(response.read().decode() or "{}")
        except (OSError, ValueError) as failure:  # URLError and timeouts are OSErrors
            raise JanusError(f"{url}: {failure}") from failure
        if not isinstance(answer, dict):
            raise JanusError(f"{url}: not a JSON object")
        if answer.get("janus") == "error":
            error = answer.get("error") or {}
            raise JanusError(f"{url}: {error.get('code')} {error.get('reason')}")
        return answer

    def info(self) -> dict[str, Any]:
        return self._send("/info", None)

    def videoroom(self, request: dict[str, Any]) -> dict[str, Any]:
        """VideoRoom's answer to one synchronous request; JanusError with its error code."""
        session = self._send("", {"janus": "create"})["data"]["id"]
        try:
            handle = self._send(f"/{session}", {"janus": "attach", "plugin": VIDEOROOM})
            answer = self._send(
                f"/{session}/{handle['data']['id']}", {"janus": "message", "body": request}
            )
        finally:
            with contextlib.suppress(JanusError):  # Janus drops it after its timeout anyway
                self._send(f"/{session}", {"janus": "destroy"})
        data = (answer.get("plugindata") or {}).get("data") or {}
        if "error_code" in data:
            raise RoomError(data["error_code"], str(data.get("error", "")))
        return dict(data)

    def create_room(self, room: int, *, publishers: int, bitrate: int, description: str) -> None:
        """A room for one call, locked by its ACL; creating it twice is no error. A room of
        that number already there is given this call's settings when our secret opens it
        (made for this call by an earlier admit or before Janus's restart, or left from a
        database that was reset: that one kept another call's publisher limit), and refused
        otherwise (another Parta on the same Janus)."""
        try:
            self.videoroom(
                {
                    "request": "create",
                    "room": room,
                    "admin_key": self.config.admin_key,
                    "secret": room_secret(room),
                    "description": description[:100],
                    "permanent": False,
                    "is_private": True,
                    "publishers": publishers,
                    "bitrate": bitrate,
                    "bitrate_cap": True,
                    "fir_freq": 10,
                    "audiocodec": "opus",
                    "videocodec": "vp8",
                    "notify_joining": True,
                    "allowed": [],
                }
            )
        except RoomError as refused:
            if refused.code != ROOM_EXISTS:
                raise
            self.videoroom(
                {
                    "request": "edit",
                    "room": room,
                    "secret": room_secret(room),
                    "new_description": description[:100],
                    "new_publishers": publishers,
                    "new_bitrate": bitrate,
                }
            )

    def allow(self, room: int, token: str) -> None:
        """Let the holder of `token` into this room (and no other)."""
        self.videoroom(
            {
                "request": "allowed",
                "room": room,
                "secret": room_secret(room),
                "action": "add",
                "allowed": [token],
            }
        )

    def destroy_room(self, room: int) -> None:
        """Close the room and drop whoever is still in it; a room already gone is no error."""
        try:
            self.videoroom({"request": "destroy", "room": room, "secret": room_secret(room)})
        except RoomError as refused:
            if refused.code != NO_SUCH_ROOM:
                raise


# What Janus's event handler reports that attendance needs (calls.services.record_media_events).
JOINED = "joined"  # a participant entered a room (VideoRoom "joined", with the token)
LEFT = "left"  # left or was kicked (VideoRoom "leaving"/"kicked": room and feed)
DETACHED = "detached"  # a handle went away (core handle event)
SESSION_GONE = "session-gone"  # a session was destroyed or timed out (core session event)
ROOM_GONE = "room-gone"  # the room was destroyed
SESSION_EVENT, HANDLE_EVENT, PLUGIN_EVENT = 1, 2, 64
MAX_EVENTS = 1000  # in one post


@dataclass(frozen=True)
class RoomEvent:
    event_id: str
    kind: str
    at: datetime
    room: int | None = None
    feed: int | None = None
    session: int | None = None
    handle: int | None = None
    identity: str | None = None  # of a join: "p<person id>" or "g<guest id>"


def _number(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def room_events(config: JanusConfig, payload: Any) -> list[RoomEvent]:
    """Janus's post (one event, or a list when it groups them) as the events attendance
    reads, in order; the others are dropped. ValueError for anything not shaped like Janus's
    events. A join whose token Parta did not sign for that room is dropped too."""
    items = payload if isinstance(payload, list) else [payload]
    if not items or len(items) > MAX_EVENTS:
        raise ValueError(f"from 1 to {MAX_EVENTS} events")
    found = []
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("event"), dict):
            raise ValueError("an event is an object with an object «event»")
        kind, stamp = _number(item.get("type")), _number(item.get("timestamp"))
        if kind is None or stamp is None:
            raise ValueError("an event has a numeric «type» and «timestamp»")
        event = _room_event(config, item, kind, datetime.fromtimestamp(stamp / 1e6, tz=UTC))
        if event is not None:
            found.append(event)
    return found


def event_id(item: dict[str, Any]) -> str:
    text = json.dumps(item, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _room_event(
    config: JanusConfig, item: dict[str, Any], kind: int, at: datetime
) -> RoomEvent | None:
    body = item["event"]
    session, handle = _number(item.get("session_id")), _number(item.get("handle_id"))
    if kind == SESSION_EVENT and body.get("name") in ("destroyed", "timeout") and session:
        return RoomEvent(event_id(item), SESSION_GONE, at, session=session)
    if kind == HANDLE_EVENT and body.get("name") == "detached" and handle:
        return RoomEvent(event_id(item), DETACHED, at, session=session, handle=handle)
    if kind != PLUGIN_EVENT or body.get("plugin") != VIDEOROOM:
        return None
    data = body.get("data")
    if not isinstance(data, dict):
        return None
    what, room, feed = data.get("event"), _number(data.get("room")), _number(data.get("id"))
    if room is None:
        return None
    if what == "joined" and feed is not None and session and handle:
        token = data.get("token")
        identity = token_identity(config, room, token) if isinstance(token, str) else None
        if identity is None:
            return None
        return RoomEvent(event_id(item), JOINED, at, room, feed, session, handle, identity)
    if what in ("leaving", "kicked") and feed is not None:
        return RoomEvent(event_id(item), LEFT, at, room, feed)
    if what == "destroyed":
        return RoomEvent(event_id(item), ROOM_GONE, at, room)
    return None

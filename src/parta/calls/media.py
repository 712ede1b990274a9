"""The media path of a call, behind a small interface, and the ICE servers browsers use.

The embedded default is a mesh: every browser sends its streams to every other one, which
suits a handful of people (PARTA_CALL_MEDIA_BACKEND names it). Class-sized calls go through
a selective forwarding unit, Janus (JanusBackend, calls.janus), when one is configured: each
browser sends one stream (in three simulcast layers) and receives the others' from Janus.
Which one a call uses is `Call.media`, chosen by `wanted_media`; Parta's signaling socket
stays the same for both (presence, state, moderation) and tells the pages when it changes.
"""

import base64
import hashlib
import hmac
import logging
from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.utils.module_loading import import_string

from parta.calls.janus import JanusClient, JanusConfig, JanusError, janus_config, participant_token
from parta.calls.models import Call
from parta.messaging.models import Conversation

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MediaPlan:
    """What the browsers in a call do now: how streams flow, whether video is sent, caps."""

    topology: str
    video: bool
    max_video_bitrate: int
    max_audio_bitrate: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class MediaBackend(ABC):
    name: str

    @abstractmethod
    def plan(self, call: Call, present: int) -> MediaPlan:
        """The plan for `call` while `present` participants are in it."""

    def admit(self, call: Call, identity: str, name: str, now: datetime) -> dict[str, Any] | None:
        """What the browser of one participant (identity "p<id>" or "g<id>") needs to reach
        the call's media path, beyond the signaling socket; None when nothing."""
        return None

    def close(self, call: Call) -> None:  # noqa: B027 — most paths hold nothing
        """The call ended: free what its media path holds."""


class MeshBackend(MediaBackend):
    """Peer to peer between all participants; video only while few enough are in the call
    (each one uploads a copy of their video to every other)."""

    name = "mesh"

    def plan(self, call: Call, present: int) -> MediaPlan:
        return MediaPlan(
            topology=self.name,
            video=not call.audio_only and present <= settings.PARTA_CALL_MESH_VIDEO_LIMIT,
            max_video_bitrate=settings.PARTA_CALL_VIDEO_BITRATE,
            max_audio_bitrate=settings.PARTA_CALL_AUDIO_BITRATE,
        )


class JanusBackend(MediaBackend):
    """Through a Janus VideoRoom: one room per call (its number is the call's id), created
    when the first participant is admitted, destroyed when the call ends. Video for every
    participant (the SFU sends each receiver one layer, so it does not multiply uploads)."""

    name = "janus"

    def __init__(self, config: JanusConfig) -> None:
        self.config = config
        self.client = JanusClient(config)

    def plan(self, call: Call, present: int) -> MediaPlan:
        return MediaPlan(
            topology=self.name,
            video=not call.audio_only,
            max_video_bitrate=settings.PARTA_CALL_VIDEO_BITRATE,
            max_audio_bitrate=settings.PARTA_CALL_AUDIO_BITRATE,
        )

    def publishers(self, call: Call) -> int:
        """How many may publish in the call's room at once."""
        return int(settings.PARTA_JANUS_ROOM_SIZE)

    def may_publish(self, call: Call, identity: str) -> bool:
        """Whether this participant's token goes into the room's ACL: in a call, everyone's."""
        return True

    def admit(self, call: Call, identity: str, name: str, now: datetime) -> dict[str, Any]:
        """A token for this call's room only (calls.janus says how), the room made first (no
        error when it is there already, so a restarted Janus gets it back). "publish" says
        whether the room's ACL lets this token in as a publisher."""
        token = participant_token(self.config, call.pk, identity, int(now.timestamp()))
        self.client.create_room(
            call.pk,
            publishers=self.publishers(call),
            bitrate=settings.PARTA_CALL_VIDEO_BITRATE,
            description=f"Parta {call.kind} {call.pk}",
        )
        publish = self.may_publish(call, identity)
        if publish:
            self.client.allow(call.pk, token)
        return {
            "server": self.config.public_url,
            "room": call.pk,
            "token": token,
            "display": name,
            "publish": publish,
        }

    def close(self, call: Call) -> None:
        self.client.destroy_room(call.pk)


class BroadcastBackend(JanusBackend):
    """A broadcast's Janus room: its presenters publish, everyone else only watches.

    Janus checks a VideoRoom's ACL when someone joins as a publisher, not when they
    subscribe: only the presenters' tokens go into it, so Janus itself refuses a viewer's
    join as a publisher (VideoRoom error 433) while the viewer's token, valid for the Janus
    core, lets them subscribe. The room takes no more publishers than there are presenters.
    """

    def publishers(self, call: Call) -> int:
        return max(call.presenters.count(), 1)

    def may_publish(self, call: Call, identity: str) -> bool:
        return is_presenter(call, identity)


def is_presenter(call: Call, identity: str) -> bool:
    """Whether the participant ("p<id>"; a guest never) presents this broadcast."""
    person = identity[1:] if identity.startswith("p") else ""
    return person.isdigit() and call.presenters.filter(pk=int(person)).exists()


MESH = MeshBackend.name
JANUS = JanusBackend.name


def media_backend(call: Call) -> MediaBackend:
    """The backend of the call's media path now. A call on Janus whose Janus is no longer
    configured falls back to the mesh."""
    config = janus_config()
    if call.media == JANUS and config is not None:
        return (
            BroadcastBackend(config) if call.kind == Call.Kind.BROADCAST else JanusBackend(config)
        )
    backend: MediaBackend = import_string(settings.PARTA_CALL_MEDIA_BACKEND)()
    return backend


def starts_on_sfu(conversation: Conversation | None) -> bool:
    """A class's chat and a channel are many people: their calls start on Janus."""
    return conversation is not None and (
        conversation.kind == Conversation.Kind.CHANNEL
        or conversation.purpose == Conversation.Purpose.CLASS
    )


def wanted_media(call: Call, present: int) -> str:
    """The media path `call` should use while `present` are in it: the mesh without Janus;
    Janus for every call when PARTA_JANUS_ALWAYS, for class chats and channels from the
    start, and for a call once more than PARTA_CALL_MESH_VIDEO_LIMIT are in it. A call on
    Janus stays there (moving back would cut everyone's media for nothing)."""
    if call.media == JANUS or janus_config() is None:
        return call.media
    if (
        settings.PARTA_JANUS_ALWAYS
        or starts_on_sfu(call.conversation)
        or present > settings.PARTA_CALL_MESH_VIDEO_LIMIT
    ):
        return JANUS
    return MESH


def close_media(call: Call) -> None:
    """Free the ended call's media path; Janus being away is logged, not raised (its room
    is temporary and goes with a restart anyway)."""
    try:
        media_backend(call).close(call)
    except JanusError as failure:
        log.warning("call %s: Janus room not destroyed: %s", call.pk, failure)


def turn_credentials(secret: str, identity: str, expires: int) -> tuple[str, str]:
    """coturn's REST form: username "<expiry unix time>:<id>", password
    base64(HMAC-SHA1(secret, username)); coturn checks both with the same secret."""
    username = f"{expires}:{identity}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode()


def ice_servers(identity: str, now: datetime) -> list[dict[str, Any]]:
    """RTCPeerConnection's iceServers: STUN as configured, TURN with fresh credentials."""
    servers: list[dict[str, Any]] = []
    if settings.PARTA_ICE_STUN_URLS:
        servers.append({"urls": list(settings.PARTA_ICE_STUN_URLS)})
    if settings.PARTA_TURN_URLS and settings.PARTA_TURN_SECRET:
        expires = int(now.timestamp()) + settings.PARTA_TURN_TTL
        username, credential = turn_credentials(settings.PARTA_TURN_SECRET, identity, expires)
        servers.append(
            {"urls": list(settings.PARTA_TURN_URLS), "username": username, "credential": credential}
        )
    return servers

"""The media path of a call, behind a small interface, and the ICE servers browsers use.

The embedded default is a mesh: every browser sends its streams to every other one, which
suits a handful of people. A selective forwarding unit (Janus) for class-sized calls comes
as another MediaBackend chosen by PARTA_CALL_MEDIA_BACKEND; the signaling stays the same.
"""

import base64
import hashlib
import hmac
from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.utils.module_loading import import_string

from parta.calls.models import Call


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


def media_backend() -> MediaBackend:
    backend: MediaBackend = import_string(settings.PARTA_CALL_MEDIA_BACKEND)()
    return backend


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

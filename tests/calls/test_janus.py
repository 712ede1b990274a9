"""Janus without Janus: the API client against a small fake of Janus's HTTP API, the tokens,
the choice of media path, and the event endpoint that records attendance from Janus."""

import base64
import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client, override_settings

from parta.calls.checks import janus_reachable
from parta.calls.janus import (
    JanusClient,
    JanusError,
    janus_config,
    participant_token,
    room_secret,
    token_identity,
)
from parta.calls.media import JANUS, MESH, wanted_media
from parta.calls.models import Call, CallParticipation, MediaConnection
from parta.calls.services import connect, disconnect, end_call, settle_media, start_call
from parta.messaging.models import Conversation
from tests.factories import local, make_member

pytestmark = pytest.mark.django_db
T0 = local("2026-11-17 10:00")
EVENTS_SECRET = "events-secret"
JANUS_SETTINGS = {
    "PARTA_JANUS_API_SECRET": "api-secret",
    "PARTA_JANUS_ADMIN_KEY": "admin-key",
    "PARTA_JANUS_TOKEN_SECRET": "token-secret",
    "PARTA_JANUS_EVENTS_SECRET": EVENTS_SECRET,
}


class FakeJanus(ThreadingHTTPServer):
    """Sessions, handles and the VideoRoom's create/allowed/destroy, as Janus answers them."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), FakeJanusHandler)
        self.requests: list[dict[str, Any]] = []
        self.rooms: dict[int, list[str]] = {}
        self.publishers: dict[int, int] = {}  # each room's limit
        self.secrets: dict[int, str] = {}
        self.next_id = 100

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/janus"


class FakeJanusHandler(BaseHTTPRequestHandler):
    server: FakeJanus

    def log_message(self, *args: Any) -> None:
        pass

    def _answer(self, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self._answer({"janus": "server_info", "version_string": "1.1.2"})

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.requests.append(body)
        if body.get("apisecret") != "api-secret":
            self._answer({"janus": "error", "error": {"code": 403, "reason": "Unauthorized"}})
            return
        if body["janus"] in ("create", "attach"):
            self.server.next_id += 1
            self._answer({"janus": "success", "data": {"id": self.server.next_id}})
        elif body["janus"] == "destroy":
            self._answer({"janus": "success"})
        else:
            self._answer({"janus": "success", "plugindata": {"data": self._room(body["body"])}})

    def _room(self, request: dict[str, Any]) -> dict[str, Any]:
        rooms, room = self.server.rooms, request["room"]
        if request["request"] == "create":
            if request.get("admin_key") != "admin-key":
                return {"error_code": 403, "error": "Unauthorized (wrong admin_key)"}
            if room in rooms:
                return {"error_code": 427, "error": "Room exists"}
            rooms[room] = []
            self.server.publishers[room] = request["publishers"]
            self.server.secrets[room] = request["secret"]
            return {"videoroom": "created", "room": room}
        if room not in rooms:
            return {"error_code": 426, "error": "No such room"}
        if request.get("secret") != self.server.secrets.get(room, room_secret(room)):
            return {"error_code": 433, "error": "Unauthorized (wrong secret)"}
        if request["request"] == "edit":
            self.server.publishers[room] = request["new_publishers"]
            return {"videoroom": "edited", "room": room}
        if request["request"] == "allowed":
            rooms[room].extend(request["allowed"])
            return {"videoroom": "success", "room": room, "allowed": rooms[room]}
        del rooms[room]
        return {"videoroom": "destroyed", "room": room}


@pytest.fixture
def fake_janus() -> Iterator[FakeJanus]:
    server = FakeJanus()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    with override_settings(PARTA_JANUS_URL=server.url, **JANUS_SETTINGS):
        yield server
    server.shutdown()
    server.server_close()


def test_rooms_are_made_and_destroyed_with_the_secrets_and_twice_is_no_error(fake_janus):
    config = janus_config()
    assert config is not None
    client = JanusClient(config)
    client.create_room(7, publishers=1, bitrate=250000, description="Parta broadcast 7")
    # Again, as for the call 7 of a database that was reset: the room takes its settings.
    client.create_room(7, publishers=128, bitrate=250000, description="Parta call 7")
    assert fake_janus.publishers[7] == 128
    client.allow(7, "a-token")
    assert fake_janus.rooms == {7: ["a-token"]}
    client.destroy_room(7)
    client.destroy_room(7)
    assert fake_janus.rooms == {}
    assert all(r["apisecret"] == "api-secret" for r in fake_janus.requests)
    # Each request opens a session and destroys it again.
    kinds = [r["janus"] for r in fake_janus.requests]
    assert kinds.count("create") == kinds.count("destroy") == 6


def test_a_room_of_another_parta_on_the_same_janus_is_not_taken(fake_janus):
    config = janus_config()
    assert config is not None
    fake_janus.rooms[9], fake_janus.publishers[9], fake_janus.secrets[9] = [], 3, "theirs"
    with pytest.raises(JanusError, match="433"):
        JanusClient(config).create_room(9, publishers=128, bitrate=1, description="Parta call 9")
    assert fake_janus.publishers[9] == 3


def test_a_refusal_and_an_absent_janus_are_janus_errors(fake_janus):
    with override_settings(PARTA_JANUS_ADMIN_KEY="wrong"):
        config = janus_config()
        assert config is not None
        with pytest.raises(JanusError, match="403"):
            JanusClient(config).create_room(1, publishers=2, bitrate=1, description="")
    with override_settings(PARTA_JANUS_URL="http://127.0.0.1:9/janus", PARTA_JANUS_TIMEOUT=1):
        config = janus_config()
        assert config is not None
        with pytest.raises(JanusError):
            JanusClient(config).info()


def test_parta_check_warns_only_when_janus_is_configured_and_does_not_answer(fake_janus):
    assert janus_reachable() == []
    with override_settings(PARTA_JANUS_URL="http://127.0.0.1:9/janus", PARTA_JANUS_TIMEOUT=1):
        assert [w.id for w in janus_reachable()] == ["calls.W001"]
    with override_settings(PARTA_JANUS_URL=""):
        assert janus_reachable() == []
    with override_settings(PARTA_JANUS_TOKEN_SECRET=""):
        assert [w.id for w in janus_reachable()] == ["calls.W002"]


def test_check_command_shows_the_warning(capsys):
    unreachable = {"PARTA_JANUS_URL": "http://127.0.0.1:9/janus", "PARTA_JANUS_TIMEOUT": 1}
    with override_settings(**JANUS_SETTINGS, **unreachable):
        call_command("check")
    assert "calls.W001" in capsys.readouterr().err


@override_settings(**JANUS_SETTINGS, PARTA_JANUS_URL="http://127.0.0.1:9/janus")
def test_a_token_names_its_person_for_its_room_only():
    config = janus_config()
    assert config is not None
    token = participant_token(config, 7, "p42", now=1_800_000_000)
    assert token.startswith("1800014400,janus,janus.plugin.videoroom,parta-7-p42-")
    assert token_identity(config, 7, token) == "p42"
    assert token_identity(config, 8, token) is None
    forged = token.replace("p42", "p43")
    assert token_identity(config, 7, forged) is None
    assert participant_token(config, 7, "p42", now=1_800_000_000) != token


def _class_chat(c) -> Conversation:
    c.chat.purpose = Conversation.Purpose.CLASS
    c.chat.save(update_fields=["purpose"])
    return c.chat


def test_the_choice_of_media_path(c, fake_janus, settings):
    chat_call = start_call(c.teacher, c.org, conversation=c.chat, at=T0)
    assert chat_call.media == MESH
    assert wanted_media(chat_call, 4) == MESH
    assert wanted_media(chat_call, 5) == JANUS  # past PARTA_CALL_MESH_VIDEO_LIMIT (4)
    # A class's chat and a channel start on Janus.
    assert start_call(c.teacher, c.org, conversation=_class_chat(c), at=T0).media == JANUS
    settings.PARTA_JANUS_ALWAYS = True
    assert start_call(c.teacher, c.org, at=T0).media == JANUS
    # Without Janus every call is a mesh.
    settings.PARTA_JANUS_ALWAYS = False
    settings.PARTA_JANUS_URL = ""
    assert wanted_media(chat_call, 30) == MESH


def test_a_call_that_outgrows_the_mesh_moves_to_janus_and_stays(c, fake_janus):
    call = start_call(c.teacher, c.org, conversation=c.chat, at=T0)
    people = [make_member(c.org, "student", f"Ученик {n}") for n in range(5)]
    for person in people[:4]:
        connect(call, person, at=T0)
        assert settle_media(call) is False
    connect(call, people[4], at=T0)
    assert settle_media(call) is True
    call.refresh_from_db()
    assert call.media == JANUS
    disconnect(call, people[4], at=T0 + timedelta(minutes=1))
    assert settle_media(call) is False
    assert Call.objects.get(pk=call.pk).media == JANUS


def test_ending_a_janus_call_destroys_its_room(c, fake_janus, django_capture_on_commit_callbacks):
    call = start_call(c.teacher, c.org, conversation=_class_chat(c), at=T0)
    fake_janus.rooms[call.pk] = []
    with django_capture_on_commit_callbacks(execute=True):
        end_call(call, at=T0 + timedelta(minutes=5))
    assert call.pk not in fake_janus.rooms


# ------------------------------------------------------------------ the event endpoint


def _auth(secret: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"janus:{secret}".encode()).decode()}


def _post(events: Any, secret: str = EVENTS_SECRET, raw: bytes | None = None) -> Any:
    body = raw if raw is not None else json.dumps(events).encode()
    return Client().post(
        "/api/calls/janus/events", body, content_type="application/json", headers=_auth(secret)
    )


def _stamp(moment) -> int:
    return int(moment.timestamp() * 1_000_000)


def joined(call: Call, person, feed: int, moment, handle: int = 5) -> dict[str, Any]:
    config = janus_config()
    assert config is not None
    token = participant_token(config, call.pk, f"p{person.pk}", int(moment.timestamp()))
    data = {"event": "joined", "room": call.pk, "id": feed, "token": token, "display": "x"}
    return {
        "emitter": "parta-janus",
        "type": 64,
        "timestamp": _stamp(moment),
        "session_id": handle * 10,
        "handle_id": handle,
        "event": {"plugin": "janus.plugin.videoroom", "data": data},
    }


def leaving(call: Call, feed: int, moment) -> dict[str, Any]:
    data = {"event": "leaving", "room": call.pk, "id": feed}
    event = {"plugin": "janus.plugin.videoroom", "data": data}
    return {"emitter": "parta-janus", "type": 64, "timestamp": _stamp(moment), "event": event}


def detached(handle: int, moment) -> dict[str, Any]:
    event = {"name": "detached", "plugin": "janus.plugin.videoroom"}
    return {
        "type": 2,
        "timestamp": _stamp(moment),
        "session_id": 1,
        "handle_id": handle,
        "event": event,
    }


@pytest.fixture
def janus_call(c, fake_janus) -> Call:
    return start_call(c.teacher, c.org, conversation=_class_chat(c), at=T0)


def test_events_need_janus_s_secret(janus_call):
    event = [leaving(janus_call, 1, T0)]
    assert _post(event, secret="wrong").status_code == 401
    assert (
        Client().post("/api/calls/janus/events", event, content_type="application/json").status_code
        == 401
    )
    with override_settings(PARTA_JANUS_EVENTS_SECRET=""):
        assert _post(event, secret="").status_code == 401
    assert _post(event).status_code == 200


@pytest.mark.parametrize(
    "raw",
    [
        b"not json",
        b"[]",
        b'"text"',
        b'[{"type": 64}]',
        b'[{"type": "x", "timestamp": 1, "event": {}}]',
    ],
)
def test_bad_events_are_refused_with_400(janus_call, raw):
    response = _post(None, raw=raw)
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"


def test_joins_and_leaves_from_janus_make_the_stays_once(c, janus_call):
    """A browser that never says goodbye: its socket went, Janus dropped its handle; the
    stays come from Janus's events, a repeated delivery changes nothing, and the held rule
    reads them."""
    teacher_in = joined(janus_call, c.teacher, feed=11, moment=T0, handle=5)
    student_in = joined(janus_call, c.student, feed=12, moment=T0 + timedelta(minutes=1), handle=6)
    assert _post([teacher_in, student_in]).json() == {"applied": 2}
    assert _post([teacher_in, student_in]).json() == {"applied": 0}
    janus_call.refresh_from_db()
    assert janus_call.held_at == T0 + timedelta(minutes=1)
    assert MediaConnection.objects.filter(call=janus_call, left_at__isnull=True).count() == 2
    assert _post([leaving(janus_call, 11, T0 + timedelta(minutes=40))]).json() == {"applied": 1}
    assert _post([detached(6, T0 + timedelta(minutes=45))]).json() == {"applied": 1}
    stays = CallParticipation.objects.filter(call=janus_call).order_by("joined_at")
    assert [(s.person_id, s.joined_at, s.left_at) for s in stays] == [
        (c.teacher.pk, T0, T0 + timedelta(minutes=40)),
        (c.student.pk, T0 + timedelta(minutes=1), T0 + timedelta(minutes=45)),
    ]


def test_a_stay_lasts_while_the_socket_or_the_media_is_open(c, janus_call):
    connect(janus_call, c.student, at=T0)
    _post([joined(janus_call, c.student, feed=12, moment=T0 + timedelta(seconds=5))])
    disconnect(janus_call, c.student, at=T0 + timedelta(minutes=1))  # the tab closed
    stay = CallParticipation.objects.get(call=janus_call, person=c.student)
    assert stay.left_at is None
    _post([leaving(janus_call, 12, T0 + timedelta(minutes=2))])  # Janus timed it out
    stay.refresh_from_db()
    assert stay.left_at == T0 + timedelta(minutes=2)


def test_a_join_with_a_token_of_another_room_or_to_an_ended_call_records_nobody(c, janus_call):
    other = start_call(c.teacher, c.org, conversation=c.chat, at=T0)
    Call.objects.filter(pk=other.pk).update(media=JANUS)
    stolen = joined(janus_call, c.student, feed=12, moment=T0)
    stolen["event"]["data"]["room"] = other.pk
    assert _post([stolen]).json() == {"applied": 0}
    end_call(janus_call, at=T0 + timedelta(minutes=1))
    assert _post(
        [joined(janus_call, c.student, feed=13, moment=T0 + timedelta(minutes=2))]
    ).json() == {"applied": 1}
    assert not CallParticipation.objects.filter(person=c.student).exists()

"""Web Push end to end, against a local push service: a loopback HTTP server receives the
encrypted request, and the test decrypts it with the subscription's own keys."""

import base64
import json
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import http_ece
import pytest
from asgiref.sync import async_to_sync
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.db import transaction
from django.test import Client
from django.utils import timezone
from huey.contrib.djhuey import HUEY

from parta.accounts.models import Role
from parta.invites.services import create_invite, redeem_invite, reject_request, request_to_join
from parta.messaging.models import Message
from parta.messaging.services import NOTICES_TITLE, create_conversation, send_message
from parta.notifications.models import ChatNotificationSettings, PushSubscription
from parta.notifications.services import subscribe
from parta.realtime import services
from parta.realtime.services import set_focus
from tests.factories import local, make_member, make_person

pytestmark = pytest.mark.django_db

NOON = local("2026-10-05 12:00")
NIGHT = local("2026-10-05 23:30")


@dataclass
class PushService:
    """The push service's side: what it received, and the status it answers with."""

    url: str
    status: int = 201
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)


@pytest.fixture
def push_service() -> Iterator[PushService]:
    service = PushService(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            service.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
            self.send_response(service.status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    service.url = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield service
    server.shutdown()
    server.server_close()


@pytest.fixture(autouse=True)
def pushes_inline(settings) -> Iterator[None]:
    settings.PARTA_PUSH_ALLOWED_HOSTS = ["127.0.0.1"]
    HUEY.immediate = True
    yield
    HUEY.immediate = False


def _at(monkeypatch: pytest.MonkeyPatch, moment: datetime) -> None:
    monkeypatch.setattr(timezone, "now", lambda: moment)


@dataclass
class Browser:
    """A browser's subscription keys: the private half stays here to decrypt with."""

    private: ec.EllipticCurvePrivateKey
    auth: bytes

    @classmethod
    def new(cls) -> "Browser":
        return cls(ec.generate_private_key(ec.SECP256R1()), os.urandom(16))

    def keys(self) -> dict[str, str]:
        public = self.private.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return {"p256dh": _b64(public), "auth": _b64(self.auth)}

    def read(self, body: bytes) -> dict[str, Any]:
        plain = http_ece.decrypt(
            body, private_key=self.private, auth_secret=self.auth, version="aes128gcm"
        )
        return json.loads(plain)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.fixture
def chat(school):
    teacher = make_member(school, "teacher", "Смирнова Елена Викторовна")
    parent = make_member(school, "parent", "Петрова Ольга Ивановна")
    conversation = create_conversation(teacher, school, title="Родители 5А", members=[parent])
    return teacher, parent, conversation


def _subscribed(person, service: PushService, name: str = "phone") -> Browser:
    browser = Browser.new()
    keys = browser.keys()
    subscribe(person, f"{service.url}/{name}", keys["p256dh"], keys["auth"], "", NOON)
    return browser


def _send(author, conversation, text, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        return send_message(author, conversation, text)


def test_a_member_who_is_away_gets_one_push_with_sender_chat_and_first_line(
    chat, push_service, monkeypatch, django_capture_on_commit_callbacks
):
    teacher, parent, conversation = chat
    browser = _subscribed(parent, push_service)
    _subscribed(teacher, push_service, "teacher")  # the sender gets none for their own
    _at(monkeypatch, NOON)
    message = _send(
        teacher, conversation, "Завтра собрание\nв 18:00", django_capture_on_commit_callbacks
    )
    assert len(push_service.received) == 1
    headers, body = push_service.received[0]
    assert headers["content-encoding"] == "aes128gcm"
    assert headers["authorization"].startswith("vapid t=")
    assert browser.read(body) == {
        "title": "Родители 5А",
        "sender": "Смирнова Елена Викторовна",
        "body": "Смирнова Елена Викторовна: Завтра собрание",
        "url": f"/messages/{conversation.pk}/#m{message.pk}",
        "conversation_id": conversation.pk,
        "message_id": message.pk,
        "silent": False,
    }
    assert PushSubscription.objects.get(person=parent).last_success_at == NOON


def test_a_member_with_the_chat_open_and_focused_gets_none(
    chat, push_service, monkeypatch, django_capture_on_commit_callbacks
):
    teacher, parent, conversation = chat
    _subscribed(parent, push_service)
    async_to_sync(set_focus)(parent.pk, "tab-1", f"conversation-{conversation.pk}", 75)
    _at(monkeypatch, NOON)
    _send(teacher, conversation, "Все видят", django_capture_on_commit_callbacks)
    assert push_service.received == []
    async_to_sync(set_focus)(parent.pk, "tab-1", None, 75)


def test_a_muted_chat_sends_none(
    chat, push_service, monkeypatch, django_capture_on_commit_callbacks
):
    teacher, parent, conversation = chat
    _subscribed(parent, push_service)
    ChatNotificationSettings.objects.create(person=parent, conversation=conversation, muted=True)
    _at(monkeypatch, NOON)
    _send(teacher, conversation, "Тихо", django_capture_on_commit_callbacks)
    assert push_service.received == []


def test_in_quiet_hours_the_push_is_silent(
    chat, push_service, monkeypatch, django_capture_on_commit_callbacks
):
    teacher, parent, conversation = chat
    browser = _subscribed(parent, push_service)
    _at(monkeypatch, NIGHT)
    _send(teacher, conversation, "Поздно", django_capture_on_commit_callbacks)
    ((_headers, body),) = push_service.received
    assert browser.read(body)["silent"] is True


def test_a_subscription_the_push_service_calls_gone_is_removed(
    chat, push_service, monkeypatch, django_capture_on_commit_callbacks
):
    teacher, parent, conversation = chat
    _subscribed(parent, push_service)
    push_service.status = 410
    _at(monkeypatch, NOON)
    _send(teacher, conversation, "Кто здесь?", django_capture_on_commit_callbacks)
    assert len(push_service.received) == 1
    assert not PushSubscription.objects.filter(person=parent).exists()


def test_a_subscription_to_a_host_not_allowed_is_refused_and_nothing_stored(chat):
    _teacher, parent, _conversation = chat
    client = Client()
    client.force_login(parent)
    keys = Browser.new().keys()
    for endpoint in ("http://169.254.169.254/latest", "https://evil.example/push"):
        response = client.post(
            "/api/notifications/push-subscriptions",
            {"endpoint": endpoint, "keys": keys},
            content_type="application/json",
        )
        assert response.status_code == 400, response.content
        assert response.json()["code"] == "push_host_not_allowed"
    response = client.post(
        "/api/notifications/push-subscriptions", "{", content_type="application/json"
    )
    assert response.status_code == 400
    assert not PushSubscription.objects.exists()


def test_subscribe_then_sign_out_removes_the_person_s_subscriptions(chat, push_service):
    _teacher, parent, _conversation = chat
    client = Client()
    client.force_login(parent)
    endpoint = f"{push_service.url}/phone"
    response = client.post(
        "/api/notifications/push-subscriptions",
        {"endpoint": endpoint, "keys": Browser.new().keys()},
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    assert PushSubscription.objects.filter(person=parent, endpoint=endpoint).exists()
    client.post("/accounts/sign-out/")
    assert not PushSubscription.objects.exists()


def test_bad_keys_are_refused(chat, push_service):
    _teacher, parent, _conversation = chat
    client = Client()
    client.force_login(parent)
    response = client.post(
        "/api/notifications/push-subscriptions",
        {"endpoint": f"{push_service.url}/x", "keys": {"p256dh": "abc", "auth": "!!"}},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert not PushSubscription.objects.exists()


def test_only_replies_and_announcements_lets_a_reply_to_me_through(
    chat, push_service, monkeypatch, django_capture_on_commit_callbacks
):
    _teacher, parent, conversation = chat
    other = make_member(conversation.organization, "parent", "Сидорова Мария Павловна")
    conversation.members.create(person=other, joined_at=NOON)
    browser = _subscribed(parent, push_service)
    ChatNotificationSettings.objects.create(
        person=parent, conversation=conversation, replies_and_announcements_only=True
    )
    _at(monkeypatch, NOON)
    mine = _send(parent, conversation, "Вопрос", django_capture_on_commit_callbacks)
    _send(other, conversation, "Просто так", django_capture_on_commit_callbacks)
    assert push_service.received == []
    with django_capture_on_commit_callbacks(execute=True):
        send_message(other, conversation, "Ответ вам", reply_to=mine)
    ((_headers, body),) = push_service.received
    assert browser.read(body)["body"] == "Сидорова Мария Павловна: Ответ вам"


def test_a_large_channel_s_fan_out_pushes_too(
    chat, push_service, monkeypatch, django_capture_on_commit_callbacks
):
    teacher, parent, conversation = chat
    browser = _subscribed(parent, push_service)
    monkeypatch.setattr(services, "INLINE_AUDIENCE", 1)
    _at(monkeypatch, NOON)
    _send(teacher, conversation, "Всем", django_capture_on_commit_callbacks)
    assert push_service.received == []  # numbered after the commit, by the fan-out
    with django_capture_on_commit_callbacks(execute=True):
        while services.fan_out_next():
            pass
    ((_headers, body),) = push_service.received
    assert browser.read(body)["body"] == "Смирнова Елена Викторовна: Всем"


def test_a_welcome_notice_is_pushed_to_its_person(
    school, push_service, monkeypatch, django_capture_on_commit_callbacks
):
    """Issue 15: the person is told by push that they joined (a personal notice is
    pushed, though it is a service message "written" by the person themselves)."""
    _at(monkeypatch, NOON)
    admin = make_member(school, "admin", "Орлова Анна Сергеевна")
    link = create_invite(school, Role.TEACHER, actor=admin, needs_approval=False).link
    newcomer = make_person("Новикова Дарья Андреевна")
    browser = _subscribed(newcomer, push_service)
    _subscribed(admin, push_service, "admin")
    with django_capture_on_commit_callbacks(execute=True):
        redeem_invite(link.pk, newcomer)
    (notice,) = Message.objects.filter(author=newcomer, service_kind="welcome:teacher")
    assert len(push_service.received) == 1  # hers only; the admin hears nothing
    pushed = browser.read(push_service.received[0][1])
    assert pushed["title"] == NOTICES_TITLE
    assert pushed["sender"] == "Парта"
    assert pushed["body"].startswith("Парта: Добро пожаловать в «")
    assert "Ваша роль — учитель." in pushed["body"]
    assert pushed["url"] == f"/messages/{notice.conversation_id}/#m{notice.pk}"


def test_a_rejected_join_request_is_pushed_with_its_reason(
    school, push_service, monkeypatch, django_capture_on_commit_callbacks
):
    """Issue 15: the person is told of a rejection by push too, pointing to «Мои заявки»
    (they hold no role in the school, so no chat of it can carry the news)."""
    _at(monkeypatch, NIGHT)
    admin = make_member(school, "admin", "Орлова Анна Сергеевна")
    asker = make_person("Новикова Дарья Андреевна")
    browser = _subscribed(asker, push_service)
    join_request = request_to_join(asker, school, Role.TEACHER)
    with django_capture_on_commit_callbacks(execute=True):
        reject_request(join_request, actor=admin, reason="Вы не работаете в нашей школе")
    ((_headers, body),) = push_service.received
    assert browser.read(body) == {
        "title": "Заявка отклонена",
        "sender": "Парта",
        "body": f"«{school}»: Вы не работаете в нашей школе",
        "url": "/my/requests/",
        "tag": f"join-request-{join_request.pk}",
        "silent": True,  # 23:30 in the school's zone: within the default quiet hours
    }


def test_a_rejection_that_rolls_back_pushes_nothing(school, push_service, monkeypatch):
    admin = make_member(school, "admin", "Орлова Анна Сергеевна")
    asker = make_person("Новикова Дарья Андреевна")
    _subscribed(asker, push_service)
    join_request = request_to_join(asker, school, Role.TEACHER)
    with pytest.raises(RuntimeError), transaction.atomic():
        reject_request(join_request, actor=admin, reason="Нет")
        raise RuntimeError
    assert push_service.received == []

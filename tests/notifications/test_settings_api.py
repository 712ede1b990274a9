"""A person's own notification settings over the API, and the send path's cost with
subscribers: pushes go on the job queue, so a send takes no more statements than before."""

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from parta.messaging.services import create_conversation, send_message
from parta.notifications.models import ChatNotificationSettings, NotificationSettings
from parta.notifications.services import subscribe
from tests.factories import local, make_member
from tests.messaging.test_send_queries import MAX_STATEMENTS
from tests.notifications.test_push import Browser


@pytest.mark.django_db
def test_a_member_mutes_a_chat_until_a_time_and_an_outsider_is_refused(school, other_school):
    teacher = make_member(school, "teacher")
    parent = make_member(school, "parent", "Петрова Ольга Ивановна")
    chat = create_conversation(teacher, school, title="Родители 5А", members=[parent])
    client = Client()
    client.force_login(parent)
    url = f"/api/notifications/conversations/{chat.pk}"
    response = client.put(
        url, {"muted_until": "2026-10-05T18:00:00+07:00"}, content_type="application/json"
    )
    assert response.status_code == 200, response.content
    saved = ChatNotificationSettings.objects.get(person=parent, conversation=chat)
    assert saved.muted_until == local("2026-10-05 18:00")
    assert client.put(url, {"muted": "often"}, content_type="application/json").status_code == 422
    outsider = make_member(other_school, "teacher", "Чужой Иван")
    client.force_login(outsider)
    assert client.put(url, {"muted": True}, content_type="application/json").status_code == 403
    assert not ChatNotificationSettings.objects.filter(person=outsider).exists()


@pytest.mark.django_db
def test_quiet_hours_round_trip(school):
    teacher = make_member(school, "teacher")
    client = Client()
    client.force_login(teacher)
    assert client.get("/api/notifications/settings").json() == {
        "quiet_hours": True,
        "quiet_from": "21:00",
        "quiet_until": "07:00",
        "email_fallback": False,
        "email_fallback_available": False,
    }
    body = {"quiet_hours": True, "quiet_from": "22:00", "quiet_until": "06:00"}
    response = client.put("/api/notifications/settings", body, content_type="application/json")
    assert response.json() == {**body, "email_fallback": False, "email_fallback_available": False}
    assert (teacher.notification_settings.quiet_from.hour, response.status_code) == (22, 200)


@pytest.mark.django_db
@pytest.mark.parametrize("moment", ["22:00+03:00", "24:00", "7:00", "22:00:00.5", ""])
def test_quiet_hours_are_a_wall_clock_time_or_a_422(school, moment):
    teacher = make_member(school, "teacher")
    client = Client()
    client.force_login(teacher)
    body = {"quiet_hours": True, "quiet_from": moment, "quiet_until": "06:00"}
    response = client.put("/api/notifications/settings", body, content_type="application/json")
    assert response.status_code == 422
    assert not NotificationSettings.objects.filter(person=teacher).exists()


@pytest.mark.django_db(transaction=True)
def test_a_send_to_subscribed_members_takes_no_more_statements(school, settings):
    settings.PARTA_PUSH_ALLOWED_HOSTS = ["127.0.0.1"]
    teacher = make_member(school, "teacher")
    parents = [make_member(school, "parent", f"Родитель{n} Анна") for n in range(3)]
    chat = create_conversation(teacher, school, title="Родители", members=parents)
    send_message(teacher, chat, "первое на этой неделе")
    for n, parent in enumerate(parents):
        keys = Browser.new().keys()
        subscribe(
            parent, f"http://127.0.0.1:9/{n}", keys["p256dh"], keys["auth"], "", chat.created_at
        )
    client = Client()
    client.force_login(teacher)
    with CaptureQueriesContext(connection) as queries:
        response = client.post(
            f"/api/messaging/conversations/{chat.pk}/messages",
            {"text": "Завтра собрание", "idempotency_key": "k"},
            content_type="application/json",
        )
    assert response.status_code == 201
    control = {"BEGIN", "BEGIN IMMEDIATE", "COMMIT"}
    statements = [q["sql"] for q in queries.captured_queries if q["sql"] not in control]
    assert len(statements) <= MAX_STATEMENTS, "\n".join(s[:120] for s in statements)

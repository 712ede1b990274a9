"""The live path's cost in SQL: a send answers in at most 8 statements whatever the size of
the chat (the way Zulip asserts its query counts). Run without the test's own transaction,
so the count is what production runs (no test savepoints); BEGIN and COMMIT not counted."""

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from parta.messaging.models import Message
from parta.messaging.selectors import members_now
from parta.messaging.services import create_conversation, send_message
from parta.realtime import services
from parta.realtime.models import PendingFanout, PersonEvent
from tests.factories import make_member

pytestmark = pytest.mark.django_db(transaction=True)

MAX_STATEMENTS = 8


def _chat_of(school, size: int):
    teacher = make_member(school, "teacher", "Смирнова Елена Викторовна")
    students = [make_member(school, "student", f"Ученик{n} Иван") for n in range(size - 1)]
    chat = create_conversation(teacher, school, title=f"Чат на {size}", members=students)
    send_message(teacher, chat, "первое на этой неделе")  # the week's tally row exists
    client = Client()
    client.force_login(teacher)
    return teacher, chat, client


def _send(client: Client, chat, key: str) -> tuple[int, list[str]]:
    with CaptureQueriesContext(connection) as queries:
        response = client.post(
            f"/api/messaging/conversations/{chat.pk}/messages",
            {"text": "Завтра контрольная", "idempotency_key": key},
            content_type="application/json",
        )
    assert response.status_code == 201, response.content
    # The transaction's own BEGIN and COMMIT (logged on some backends) do not count.
    control = {"BEGIN", "BEGIN IMMEDIATE", "COMMIT"}
    statements = [q["sql"] for q in queries.captured_queries if q["sql"] not in control]
    return response.json()["id"], statements


@pytest.mark.parametrize("size", [3, 30, 120])
def test_a_send_takes_at_most_8_statements_whatever_the_chat_s_size(school, size):
    _teacher, chat, client = _chat_of(school, size)
    message_id, statements = _send(client, chat, f"key-{size}")
    assert len(statements) <= MAX_STATEMENTS, "\n".join(s[:120] for s in statements)
    # ...and every member was told, in those statements.
    assert PersonEvent.objects.filter(payload__message__id=message_id).count() == size


def test_a_send_to_a_large_channel_leaves_the_members_events_for_after_the_commit(
    school, monkeypatch
):
    # 2,000 members at INLINE_AUDIENCE = 200 is this at 5: the sender's request writes one
    # fan-out row, and the server's fan-out task numbers the members' events after it.
    monkeypatch.setattr(services, "INLINE_AUDIENCE", 5)
    _teacher, chat, client = _chat_of(school, 12)
    while services.fan_out_next():  # the chat's first message
        pass
    message_id, statements = _send(client, chat, "key-large")
    assert len(statements) <= MAX_STATEMENTS, "\n".join(s[:120] for s in statements)
    assert not [s for s in statements if "realtime_personevent" in s]
    assert PendingFanout.objects.get().people == sorted(members_now(chat))
    while services.fan_out_next():
        pass
    assert PersonEvent.objects.filter(payload__message__id=message_id).count() == 12


def test_a_repeated_send_stores_nothing_new(school):
    teacher, chat, client = _chat_of(school, 3)
    first, _ = _send(client, chat, "same")
    response = client.post(
        f"/api/messaging/conversations/{chat.pk}/messages",
        {"text": "Завтра контрольная", "idempotency_key": "same"},
        content_type="application/json",
    )
    assert (response.status_code, response.json()["id"]) == (200, first)
    assert Message.objects.filter(author=teacher, idempotency_key="same").count() == 1

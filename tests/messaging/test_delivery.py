"""Events reach the conversation's current members over the WebSocket, and nobody else."""

import pytest
from channels.db import database_sync_to_async

from parta.messaging.models import Conversation
from parta.messaging.services import (
    create_conversation,
    mark_read,
    remove_member,
    send_message,
)
from tests.realtime.sockets import open_socket

pytestmark = pytest.mark.django_db(transaction=True)
TIMEOUT = 3


async def caught_up(communicator) -> None:
    """Past the catch-up of what happened before: up to the «ready» that ends it."""
    while (await communicator.receive_json_from(timeout=TIMEOUT))["type"] != "ready":
        pass


async def events(communicator, count: int) -> list[dict]:
    """The `count` events expected (each awaited up to TIMEOUT), and any that come after them
    before the socket goes quiet. That nothing more arrives can only be seen as 0.3 s of
    quiet: there is no event to await for it."""
    received: list[dict] = []
    while len(received) < count:
        message = await communicator.receive_json_from(timeout=TIMEOUT)
        if message["type"] == "event":
            received.append(message)
    while not await communicator.receive_nothing(timeout=0.3):
        message = await communicator.receive_json_from(timeout=TIMEOUT)
        if message["type"] == "event":
            received.append(message)
    return received


async def test_a_message_reaches_members_only_and_a_removed_member_hears_no_more(s, outsider):
    chat = await database_sync_to_async(create_conversation)(
        s.teacher, s.org, title="5А", purpose=Conversation.Purpose.CLASS, school_class=s.five_a
    )
    student, classmate = s.students
    sockets = {p.pk: await open_socket(p) for p in (student, classmate, s.colleague, outsider)}
    try:
        for communicator in sockets.values():
            await communicator.send_json_to({"type": "resume", "after": None})
        for communicator in sockets.values():
            await caught_up(communicator)

        message = await database_sync_to_async(send_message)(
            s.teacher, chat, "Завтра экскурсия", idempotency_key="k1"
        )
        for person in (student, classmate):
            (event,) = await events(sockets[person.pk], 1)
            assert event["kind"] == "message.created"
            assert event["payload"]["message"]["id"] == message.pk
            assert event["payload"]["message"]["text"] == "Завтра экскурсия"
        assert await events(sockets[s.colleague.pk], 0) == []
        assert await events(sockets[outsider.pk], 0) == []

        # A retried send stores nothing new and announces nothing new.
        again = await database_sync_to_async(send_message)(
            s.teacher, chat, "Завтра экскурсия", idempotency_key="k1"
        )
        assert again.pk == message.pk
        assert await events(sockets[student.pk], 0) == []

        await database_sync_to_async(remove_member)(chat, classmate, by=s.teacher)
        removed = [e["kind"] for e in await events(sockets[classmate.pk], 2)]
        assert removed == ["message.created", "conversation.member_left"]  # «left», then out
        await database_sync_to_async(send_message)(s.teacher, chat, "Уже без него")
        assert await events(sockets[classmate.pk], 0) == []
        kinds = [e["kind"] for e in await events(sockets[student.pk], 3)]
        assert kinds == ["message.created", "conversation.member_left", "message.created"]
    finally:
        for communicator in sockets.values():
            await communicator.disconnect()


def test_a_class_chat_goes_ahead_of_a_school_channels_pending_fan_out(s, monkeypatch):
    """The channel's own later events wait behind its post; another chat's do not."""
    from parta.realtime import services as realtime
    from parta.realtime.models import PendingFanout, PersonEvent

    monkeypatch.setattr(realtime, "INLINE_AUDIENCE", 3)
    monkeypatch.setattr(realtime, "_wake_fanout", lambda: None)  # the test drains it
    school_wide = [s.admin, s.colleague, s.staff, *s.students, *s.parents]
    channel = create_conversation(
        s.teacher,
        s.org,
        title="Новости школы",
        kind=Conversation.Kind.CHANNEL,
        purpose=Conversation.Purpose.INFO,
        members=school_wide,
    )
    realtime.fan_out_next()  # the channel's «created», to its 8 members
    student = s.students[0]
    chat = create_conversation(s.teacher, s.org, title="Кружок", members=[student])
    post = send_message(s.teacher, channel, "Линейка в 8:30")
    assert PendingFanout.objects.count() == 1
    reply = send_message(s.teacher, chat, "Не забудь форму")

    def kinds_of(person):
        return [
            (e.kind, e.payload.get("conversation", e.payload.get("message", {})).get("id"))
            for e in PersonEvent.objects.filter(person=person)
        ]

    # The student reads the channel at once: that news waits behind the post's.
    mark_read(student, channel)
    assert kinds_of(student)[-1] == ("message.created", reply.pk)  # not held up
    while realtime.fan_out_next():
        pass
    assert kinds_of(student)[-2:] == [("message.created", post.pk), ("conversation.read", None)]

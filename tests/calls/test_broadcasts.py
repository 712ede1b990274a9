"""Broadcasts (трансляции): started from a chat or a channel by whoever may post there,
announced live, presenters publish through Janus while viewers only watch (Janus's own ACL
refuses a viewer's publisher join), attendance from stays, and reports that count a
broadcast held apart from calls (docs/indicators.md)."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from parta.calls.media import JANUS, BroadcastBackend, media_backend
from parta.calls.models import Call, CallParticipation, MediaConnection
from parta.calls.selectors import calls_with_stale_held, held_broadcasts, held_calls
from parta.calls.services import (
    connect,
    disconnect,
    end_call,
    finish_call,
    open_broadcast,
    open_call,
    sweep_calls,
)
from parta.messaging.models import Conversation, Message
from parta.messaging.services import ServiceNotice, create_conversation
from parta.monitoring.engine import weekly_report
from parta.monitoring.scopes import Scope
from parta.monitoring.weeks import Week
from parta.realtime.models import PersonEvent
from tests.calls.test_janus import FakeJanus, _post, fake_janus, joined
from tests.factories import client_for, local, make_member

__all__ = ["fake_janus"]
pytestmark = pytest.mark.django_db
T0 = local("2026-11-17 10:00")
NO_SFU = "Трансляции идут через сервер видеосвязи (Janus), а он здесь не настроен."


@pytest.fixture
def channel(c) -> Conversation:
    """The teacher's channel, the student and the colleague subscribed to it."""
    return create_conversation(
        c.teacher,
        c.org,
        title="Новости 5А",
        kind=Conversation.Kind.CHANNEL,
        members=[c.student, c.colleague],
        at=local("2026-09-02 09:00"),
    )


def broadcast_of(teacher, conversation, **options) -> Call:
    return open_broadcast(teacher, conversation, at=T0, **options).call


# ---------------------------------------------------------------- starting one


def test_a_teacher_starts_a_broadcast_in_a_channel_and_its_members_hear_of_it(
    c, channel, fake_janus
):
    opened = open_broadcast(c.teacher, channel, co_presenters=[c.colleague], title="Линейка")
    broadcast = opened.call
    assert opened.created is True
    assert (broadcast.kind, broadcast.media, broadcast.title) == (
        Call.Kind.BROADCAST,
        JANUS,
        "Линейка",
    )
    assert set(broadcast.presenters.values_list("pk", flat=True)) == {c.teacher.pk, c.colleague.pk}
    notice = Message.objects.get(conversation=channel, is_service=True)
    assert (notice.author_id, notice.service_kind) == (
        c.teacher.pk,
        ServiceNotice.BROADCAST_STARTED,
    )
    event = PersonEvent.objects.get(person=c.student, kind="call.started")
    assert (event.payload["call"]["id"], event.payload["call"]["kind"]) == (
        broadcast.pk,
        "broadcast",
    )
    # Starting again joins the one that is on.
    again = open_broadcast(c.teacher, channel)
    assert (again.call.pk, again.created) == (broadcast.pk, False)
    # A broadcast is the conversation's «call» now: «Позвонить» in a chat joins it as well.
    assert open_call(c.student, c.org, conversation=channel).call.pk == broadcast.pk


def test_a_student_may_not_start_a_broadcast_in_a_channel_but_in_a_chat(c, channel, fake_janus):
    with pytest.raises(PermissionDenied, match="в канале — его авторы"):
        open_broadcast(c.student, channel)
    assert not Call.objects.exists()
    assert not Message.objects.filter(conversation=channel, is_service=True).exists()
    # In a chat every member posts, so every member may broadcast there.
    assert open_broadcast(c.student, c.chat).call.kind == Call.Kind.BROADCAST


def test_without_janus_a_broadcast_is_refused_saying_why(c, channel):
    with pytest.raises(ValidationError, match="через сервер видеосвязи"):
        open_broadcast(c.teacher, channel)
    response = client_for(c.teacher).post(
        "/api/calls/broadcasts", {"conversation_id": channel.pk}, content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json() == {"detail": NO_SFU, "code": "no_sfu"}
    assert not Call.objects.exists()
    # The channel's page shows the button disabled, with the reason beside it.
    page = client_for(c.teacher).get(f"/messages/{channel.pk}/").content.decode()
    assert 'aria-describedby="broadcast-why">Начать трансляцию</button>' in page
    assert NO_SFU in page


def test_a_call_on_in_the_chat_is_not_turned_into_a_broadcast(c, fake_janus):
    open_call(c.teacher, c.org, conversation=c.chat, at=T0)
    with pytest.raises(ValidationError, match="идёт звонок"):
        open_broadcast(c.teacher, c.chat, at=T0)
    assert Call.objects.filter(kind=Call.Kind.BROADCAST).count() == 0


def _start(person, payload):
    return client_for(person).post(
        "/api/calls/broadcasts", payload, content_type="application/json"
    )


def test_the_api_starts_a_broadcast_with_co_presenters(c, channel, fake_janus):
    response = _start(
        c.teacher, {"conversation_id": channel.pk, "co_presenter_ids": [c.colleague.pk]}
    )
    assert response.status_code == 201
    body = response.json()
    assert (body["created"], body["link"], body["call"]["kind"]) == (True, None, "broadcast")
    assert body["call"]["url"] == f"/calls/{body['call']['id']}/"
    again = _start(c.teacher, {"conversation_id": channel.pk})
    assert (again.status_code, again.json()["created"]) == (200, False)


@pytest.mark.parametrize(
    ("who", "payload", "status", "detail"),
    [
        ("student", {}, 403, "в канале — его авторы"),
        ("teacher", {"co_presenter_ids": ["admin"]}, 400, "не участник этой беседы"),
        ("teacher", {"co_presenter_ids": [999_999]}, 400, "Соведущий не найден."),
        ("teacher", {"co_presenter_ids": "many"}, 422, None),
        ("teacher", {"title": "т" * 201}, 400, "длиннее 200 знаков"),
        ("outsider", {}, 404, None),
    ],
)
def test_bad_starts_are_refused_and_store_nothing(
    c, channel, fake_janus, who, payload, status, detail
):
    outsider = make_member(c.org, "teacher", "Орлов Глеб Андреевич")
    people = {"student": c.student, "teacher": c.teacher, "admin": c.admin, "outsider": outsider}
    if payload.get("co_presenter_ids") == ["admin"]:
        payload = {**payload, "co_presenter_ids": [c.admin.pk]}  # of the school, not the channel
    response = _start(people[who], {"conversation_id": channel.pk, **payload})
    assert response.status_code == status
    if detail is not None:
        assert detail in response.json()["detail"]
    assert not Call.objects.exists()
    assert not Message.objects.filter(conversation=channel, is_service=True).exists()


def test_too_many_co_presenters_are_refused(c, channel, fake_janus):
    many = [make_member(c.org, "teacher", f"Учитель {n}") for n in range(5)]
    with pytest.raises(ValidationError, match="Соведущих не больше 4"):
        open_broadcast(c.teacher, channel, co_presenters=many)


# ---------------------------------------------------------------- who may publish


def test_only_presenters_tokens_open_the_room_to_publishers(c, channel, fake_janus: FakeJanus):
    broadcast = broadcast_of(c.teacher, channel, co_presenters=[c.colleague])
    backend = media_backend(broadcast)
    assert isinstance(backend, BroadcastBackend)
    presenter = backend.admit(broadcast, f"p{c.teacher.pk}", "Смирнова", timezone.now())
    co_presenter = backend.admit(broadcast, f"p{c.colleague.pk}", "Кузнецов", timezone.now())
    viewer = backend.admit(broadcast, f"p{c.student.pk}", "Соколов", timezone.now())
    guest = backend.admit(broadcast, "g1", "Гость", timezone.now())
    assert [each["publish"] for each in (presenter, co_presenter, viewer, guest)] == [
        True,
        True,
        False,
        False,
    ]
    # Janus checks the room's ACL when someone joins as a publisher: only the presenters'.
    assert fake_janus.rooms[broadcast.pk] == [presenter["token"], co_presenter["token"]]
    # Made on the first admission (again is no error): as many publishers as presenters.
    creates = [
        r["body"] for r in fake_janus.requests if r.get("body", {}).get("request") == "create"
    ]
    assert [each["publishers"] for each in creates] == [2, 2, 2, 2]


def test_a_call_s_room_takes_everyone_s_token(c, fake_janus: FakeJanus):
    call = open_call(c.teacher, c.org, conversation=c.chat, at=T0).call
    Call.objects.filter(pk=call.pk).update(media=JANUS)
    call.refresh_from_db()
    credentials = media_backend(call).admit(call, f"p{c.student.pk}", "Соколов", timezone.now())
    assert credentials is not None
    assert credentials["publish"] is True
    assert fake_janus.rooms[call.pk] == [credentials["token"]]


# ---------------------------------------------------------------- pages


def test_a_viewer_s_page_has_no_camera_and_the_presenter_s_has(c, channel, fake_janus):
    broadcast = broadcast_of(c.teacher, channel)
    viewer_page = client_for(c.student).get(f"/calls/{broadcast.pk}/").content.decode()
    assert '"role": "viewer"' in viewer_page
    assert 'data-action="cam"' not in viewer_page and 'id="local"' not in viewer_page
    assert "вы зритель" in viewer_page
    # A student reads a channel's chat beside the video; its authors write there.
    assert 'id="call-messages"' in viewer_page and 'id="call-composer"' not in viewer_page
    presenter_page = client_for(c.teacher).get(f"/calls/{broadcast.pk}/").content.decode()
    assert '"role": "presenter"' in presenter_page
    assert 'data-action="cam"' in presenter_page and 'id="call-composer"' in presenter_page


def test_the_channel_page_offers_to_watch_the_broadcast_that_is_on(c, channel, fake_janus):
    page = client_for(c.student).get(f"/messages/{channel.pk}/").content.decode()
    assert "Начать трансляцию" not in page  # a subscriber does not post in the channel
    assert "Позвонить" not in page  # no calls in a channel
    broadcast_of(c.teacher, channel)
    page = client_for(c.student).get(f"/messages/{channel.pk}/").content.decode()
    assert '<p class="call-join" data-kind="broadcast">Идёт трансляция.' in page


def test_the_panel_start_form_refuses_a_student_in_a_channel(c, channel, fake_janus):
    response = client_for(c.student).post("/calls/broadcast/", {"conversation": channel.pk})
    assert response.status_code == 403
    assert "в канале — его авторы" in response.content.decode()
    response = client_for(c.teacher).post("/calls/broadcast/", {"conversation": channel.pk})
    broadcast = Call.objects.get(kind=Call.Kind.BROADCAST)
    assert response.status_code == 302 and response["Location"] == f"/calls/{broadcast.pk}/"


# ---------------------------------------------------------------- attendance and held


def test_viewers_stays_from_signaling_and_the_presenter_s_from_janus(c, channel, fake_janus):
    broadcast = broadcast_of(c.teacher, channel)
    assert _post([joined(broadcast, c.teacher, feed=11, moment=T0)]).json() == {"applied": 1}
    connect(broadcast, c.student, at=T0 + timedelta(minutes=2))
    disconnect(broadcast, c.student, at=T0 + timedelta(minutes=30))
    stays = CallParticipation.objects.filter(call=broadcast).order_by("joined_at")
    assert [(s.person_id, s.joined_at, s.left_at) for s in stays] == [
        (c.teacher.pk, T0, None),
        (c.student.pk, T0 + timedelta(minutes=2), T0 + timedelta(minutes=30)),
    ]
    assert MediaConnection.objects.get(call=broadcast).person_id == c.teacher.pk
    broadcast.refresh_from_db()
    assert broadcast.held_at == T0 + timedelta(minutes=2)
    assert list(held_broadcasts()) == [broadcast]
    assert list(held_calls()) == []
    assert not calls_with_stale_held().exists()


def test_presenters_alone_or_viewers_alone_do_not_hold_a_broadcast(c, channel, fake_janus):
    broadcast = broadcast_of(c.teacher, channel, co_presenters=[c.colleague])
    connect(broadcast, c.teacher, at=T0)
    connect(broadcast, c.colleague, at=T0)
    disconnect(broadcast, c.teacher, at=T0 + timedelta(minutes=5))
    disconnect(broadcast, c.colleague, at=T0 + timedelta(minutes=5))
    connect(broadcast, c.student, at=T0 + timedelta(minutes=6))
    connect(broadcast, c.admin, at=T0 + timedelta(minutes=6))  # an admin who only watches
    broadcast.refresh_from_db()
    assert broadcast.held_at is None
    assert not calls_with_stale_held().exists()
    # A co-presenter comes back while the two watch: now it is held.
    connect(broadcast, c.colleague, at=T0 + timedelta(minutes=7))
    broadcast.refresh_from_db()
    assert broadcast.held_at == T0 + timedelta(minutes=7)


def test_the_presenter_ends_it_and_an_empty_one_is_swept(c, channel, fake_janus, settings):
    broadcast = broadcast_of(c.teacher, channel)
    connect(broadcast, c.student, at=T0)
    with pytest.raises(PermissionDenied):
        finish_call(broadcast, by=c.student, at=T0 + timedelta(minutes=1))
    finish_call(broadcast, by=c.teacher, at=T0 + timedelta(minutes=1))
    assert CallParticipation.objects.get(call=broadcast).left_at == T0 + timedelta(minutes=1)
    assert PersonEvent.objects.filter(person=c.student, kind="call.ended").exists()

    second = broadcast_of(c.teacher, channel)
    connect(second, c.teacher, at=T0)
    disconnect(second, c.teacher, at=T0 + timedelta(minutes=3))
    later = T0 + timedelta(minutes=3, seconds=settings.PARTA_CALL_HEARTBEAT_TIMEOUT + 1)
    assert sweep_calls(now=later).calls_ended == 1
    second.refresh_from_db()
    assert second.ended_at == T0 + timedelta(minutes=3)


# ---------------------------------------------------------------- indicators


def report_row(org, moment=T0):
    week = Week.containing(moment, org.district.region.zone)
    (row,) = weekly_report(Scope("organization", organization=org), week).organizations
    return row


def test_a_broadcast_with_30_viewers_is_not_a_call_but_a_held_broadcast(c, channel, fake_janus):
    viewers = [make_member(c.org, "student", f"Ученик {n}") for n in range(30)]
    broadcast = broadcast_of(c.teacher, channel)
    connect(broadcast, c.teacher, at=T0)
    for viewer in viewers:
        connect(broadcast, viewer, at=T0 + timedelta(minutes=1))
    end_call(broadcast, at=T0 + timedelta(minutes=40))
    row = report_row(c.org)
    assert row["broadcasts_held"] == 1
    assert (row["calls_held"], row["teachers_1_call"], row["teachers_3_calls"]) == (0, 0, 0)
    assert row["active"] is False  # a broadcast makes no school «active» either
    # A call held the same week counts as a call, beside the broadcast.
    call = open_call(c.teacher, c.org, conversation=c.chat, at=T0).call
    connect(call, c.teacher, at=T0)
    connect(call, c.student, at=T0)
    row = report_row(c.org)
    assert (row["calls_held"], row["teachers_1_call"], row["broadcasts_held"]) == (1, 1, 1)


def test_a_broadcast_nobody_watched_is_not_held(c, channel, fake_janus):
    broadcast = broadcast_of(c.teacher, channel)
    connect(broadcast, c.teacher, at=T0)
    end_call(broadcast, at=T0 + timedelta(minutes=10))
    assert report_row(c.org)["broadcasts_held"] == 0


# ---------------------------------------------------------------- the socket


@pytest.mark.django_db(transaction=True)
async def test_over_the_socket_a_viewer_gets_credentials_that_cannot_publish(
    c, channel, fake_janus
):
    from channels.db import database_sync_to_async

    from tests.calls.test_signaling import join, receive

    opened = await database_sync_to_async(open_broadcast)(c.teacher, channel)
    broadcast = opened.call
    presenter = await join(c.teacher, broadcast)
    presenter_welcome = await receive(presenter, "welcome")
    viewer = await join(c.student, broadcast)
    viewer_welcome = await receive(viewer, "welcome")
    assert presenter_welcome["media"]["topology"] == viewer_welcome["media"]["topology"] == JANUS
    assert presenter_welcome["media"]["janus"]["publish"] is True
    assert viewer_welcome["media"]["janus"]["publish"] is False
    assert viewer_welcome["moderator"] is False
    assert fake_janus.rooms[broadcast.pk] == [presenter_welcome["media"]["janus"]["token"]]
    assert sorted(
        await database_sync_to_async(
            lambda: list(
                CallParticipation.objects.filter(call=broadcast, left_at__isnull=True).values_list(
                    "person_id", flat=True
                )
            )
        )()
    ) == sorted([c.teacher.pk, c.student.pk])
    await viewer.disconnect()
    await presenter.disconnect()

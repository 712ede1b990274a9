"""The call's WebSocket over the real ASGI application: presence, relayed offers and ICE,
state, heartbeats, a dropped connection, and who may connect."""

from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from django.conf import settings
from django.test import Client, override_settings
from django.utils import timezone

from parta.calls.models import CallGuest, CallParticipation
from parta.calls.services import open_call
from tests.realtime.sockets import session_cookie, socket

pytestmark = pytest.mark.django_db(transaction=True)


def path(call) -> str:
    return f"/ws/calls/{call.pk}/"


async def join(person, call, cookie: str | None = None):
    if cookie is None:
        cookie = await database_sync_to_async(session_cookie)(person)
    communicator = socket(cookie, path(call))
    connected, _ = await communicator.connect()
    assert connected
    return communicator


async def receive(communicator, kind: str) -> dict:
    """The next message of `kind`, skipping others (media plans, states)."""
    while True:
        message = await communicator.receive_json_from(timeout=3)
        if message["type"] == kind:
            return message


async def closed_with(communicator, timeout: float = 3) -> int:
    while True:
        output = await communicator.receive_output(timeout=timeout)
        if output["type"] == "websocket.close":
            return output["code"]


@database_sync_to_async
def start(person, org, **options):
    return open_call(person, org, **options).call


@database_sync_to_async
def stays(call):
    return list(
        CallParticipation.objects.filter(call=call)
        .order_by("joined_at")
        .values_list("person_id", "left_at")
    )


async def test_two_people_meet_offer_answer_and_ice_are_relayed(c):
    call = await start(c.teacher, c.org, conversation=c.chat)
    teacher = await join(c.teacher, call)
    welcome = await receive(teacher, "welcome")
    assert welcome["moderator"] is True
    assert welcome["media"] == {
        "topology": "mesh",
        "video": True,
        "max_video_bitrate": 250000,
        "max_audio_bitrate": 32000,
        "janus": None,  # a mesh call: no Janus credentials
    }
    student = await join(c.student, call)
    student_welcome = await receive(student, "welcome")
    assert student_welcome["moderator"] is False

    # The teacher hears of the newcomer and waits; the newcomer is told to make the offer.
    arrived = await receive(teacher, "peer-joined")
    assert (arrived["peer"], arrived["name"], arrived["offer"]) == (
        student_welcome["peer"],
        "Соколов Артём",
        False,
    )
    present = await receive(student, "peer-joined")
    assert (present["peer"], present["offer"]) == (welcome["peer"], True)

    offer = {"sdp": {"type": "offer", "sdp": "v=0 fake"}}
    await student.send_json_to({"type": "signal", "to": welcome["peer"], "data": offer})
    relayed = await receive(teacher, "signal")
    assert relayed == {"type": "signal", "from": student_welcome["peer"], "data": offer}
    candidate = {"candidate": {"candidate": "candidate:1 1 udp 1 127.0.0.1 5000 typ host"}}
    await teacher.send_json_to({"type": "signal", "to": student_welcome["peer"], "data": candidate})
    assert (await receive(student, "signal"))["data"] == candidate

    await student.send_json_to({"type": "state", "hand": True, "video": False})
    state = await receive(teacher, "state")
    assert state["state"] == {"audio": True, "video": False, "screen": False, "hand": True}

    await student.send_json_to({"type": "leave"})
    assert await closed_with(student) == 1000
    assert (await receive(teacher, "peer-left"))["peer"] == student_welcome["peer"]
    rows = await stays(call)
    assert rows[0] == (c.teacher.pk, None)
    assert rows[1][0] == c.student.pk and rows[1][1] is not None
    await teacher.disconnect()
    assert all(left is not None for _, left in await stays(call))


async def test_bad_signals_get_clear_errors(c):
    call = await start(c.teacher, c.org, conversation=c.chat)
    teacher = await join(c.teacher, call)
    await receive(teacher, "welcome")
    await teacher.send_json_to({"type": "signal", "to": "nobody", "data": {}})
    assert (await receive(teacher, "error"))["detail"] == "Такого участника в звонке нет."
    await teacher.send_json_to({"type": "state", "audio": "yes"})
    assert "true или false" in (await receive(teacher, "error"))["detail"]
    await teacher.send_to(text_data="not json")
    assert (await receive(teacher, "error"))["detail"] == "Ожидается JSON."
    await teacher.disconnect()


async def test_a_dropped_connection_ends_the_stay_at_its_last_message(c, monkeypatch):
    # Only the student's tab has the short timeout, so nothing but its silence can close a
    # stay however slowly this machine runs: the teacher's tab waits a minute, and the sweep
    # on entry (tested in test_attendance) is off, as it would close the teacher's stay when
    # more than the short timeout passed between the call's start and the student's entry.
    monkeypatch.setattr("parta.calls.services.sweep_calls", lambda **options: None)
    call = await start(c.teacher, c.org, conversation=c.chat)
    # Each tab reads the timeout as it enters, before its welcome.
    with override_settings(PARTA_CALL_HEARTBEAT_TIMEOUT=60):
        teacher = await join(c.teacher, call)
        await receive(teacher, "welcome")
    with override_settings(PARTA_CALL_HEARTBEAT_TIMEOUT=2):
        student = await join(c.student, call)
        await receive(student, "welcome")
    before_last = timezone.now()
    await student.send_json_to({"type": "heartbeat"})
    # The student's network is gone: nothing more is sent until the server gives it up.
    code = await closed_with(student, timeout=15)
    noticed = timezone.now()
    assert code == 4408
    await receive(teacher, "peer-left")
    left = await database_sync_to_async(
        lambda: CallParticipation.objects.get(call=call, person=c.student).left_at
    )()
    # At the student's last message, not when the silence was noticed (2 s after it at least).
    assert left is not None
    assert before_last <= left <= noticed - timedelta(seconds=2)
    teacher_left = await database_sync_to_async(
        lambda: CallParticipation.objects.get(call=call, person=c.teacher).left_at
    )()
    assert teacher_left is None
    await teacher.disconnect()


async def test_a_non_member_without_a_link_is_refused_and_not_recorded(c):
    call = await start(c.teacher, c.org, conversation=c.chat)
    colleague = await join(c.colleague, call)
    assert await closed_with(colleague) == 4403
    anonymous = socket(None, path(call))
    await anonymous.connect()
    assert await closed_with(anonymous) == 4403
    assert [p for p, _ in await stays(call)] == []  # the teacher has not come yet


def _admitted_cookie(token: str, person=None, guest_name: str | None = None) -> str:
    client = Client()
    if person is not None:
        client.force_login(person)
    response = client.post("/calls/link/", {"token": token})
    assert response.status_code == 302
    if guest_name is not None:
        call_id = int(response["Location"].rstrip("/").split("/")[-2])
        client.post(f"/calls/{call_id}/guest/", {"name": guest_name})
    return client.cookies[settings.SESSION_COOKIE_NAME].value


async def test_a_link_lets_an_outsider_in_and_anonymous_joining_is_off_by_default(c):
    opened = await database_sync_to_async(open_call)(
        c.teacher, c.org, conversation=c.chat, with_link=True
    )
    call, token = opened.call, opened.link_token
    cookie = await database_sync_to_async(_admitted_cookie)(token, c.colleague)
    colleague = await join(c.colleague, call, cookie)
    assert (await receive(colleague, "welcome"))["me"]["name"] == "Кузнецов Иван Сергеевич"
    guest_cookie = await database_sync_to_async(_admitted_cookie)(token)
    stranger = socket(guest_cookie, path(call))
    await stranger.connect()
    assert await closed_with(stranger) == 4403
    await colleague.disconnect()
    assert not await database_sync_to_async(CallGuest.objects.exists)()


async def test_anonymous_joining_on_records_a_guest_who_can_be_removed(c):
    opened = await database_sync_to_async(open_call)(c.teacher, c.org, allow_anonymous=True)
    call = opened.call
    teacher = await join(c.teacher, call)
    await receive(teacher, "welcome")
    guest_cookie = await database_sync_to_async(_admitted_cookie)(
        opened.link_token, guest_name="  Мама   Артёма "
    )
    guest = socket(guest_cookie, path(call))
    await guest.connect()
    guest_welcome = await receive(guest, "welcome")
    assert guest_welcome["me"]["name"] == "Мама Артёма"
    assert guest_welcome["me"]["person_id"] is None
    await receive(teacher, "peer-joined")

    await teacher.send_json_to({"type": "remove", "peer": guest_welcome["peer"]})
    assert (await receive(guest, "removed"))["type"] == "removed"
    assert await closed_with(guest) == 4409
    stay = await database_sync_to_async(CallGuest.objects.get)(call=call)
    assert stay.removed and stay.left_at is not None
    # The same browser is refused when it tries again.
    again = socket(guest_cookie, path(call))
    await again.connect()
    assert await closed_with(again) == 4403
    await teacher.disconnect()


async def test_removal_mute_and_end_are_for_the_creator_and_admins(c):
    call = await start(c.teacher, c.org, conversation=c.chat)
    teacher = await join(c.teacher, call)
    teacher_peer = (await receive(teacher, "welcome"))["peer"]
    student = await join(c.student, call)
    student_peer = (await receive(student, "welcome"))["peer"]
    await receive(student, "peer-joined")
    await receive(teacher, "peer-joined")

    await student.send_json_to({"type": "remove", "peer": teacher_peer})
    assert "создатель звонка" in (await receive(student, "error"))["detail"]
    await teacher.send_json_to({"type": "mute", "peer": student_peer})
    assert (await receive(student, "muted"))["type"] == "muted"
    await teacher.send_json_to({"type": "remove", "peer": student_peer})
    await receive(student, "removed")
    assert await closed_with(student) == 4409
    removed = await database_sync_to_async(
        lambda: CallParticipation.objects.get(call=call, person=c.student)
    )()
    assert removed.removed_by_id == c.teacher.pk and removed.left_at is not None
    back = await join(c.student, call)
    assert await closed_with(back) == 4403

    admin = await join(c.admin, call)
    assert (await receive(admin, "welcome"))["moderator"] is True
    await admin.send_json_to({"type": "end"})
    assert (await receive(teacher, "ended"))["type"] == "ended"
    assert await closed_with(teacher) == 4410
    assert await closed_with(admin) == 4410
    await database_sync_to_async(call.refresh_from_db)()
    assert call.ended_at is not None
    assert all(left is not None for _, left in await stays(call))
    late = await join(c.teacher, call)
    assert await closed_with(late) == 4410


@override_settings(PARTA_CALL_MESH_VIDEO_LIMIT=1)
async def test_beyond_the_mesh_limit_video_stops_for_everyone(c):
    call = await start(c.teacher, c.org, conversation=c.chat)
    teacher = await join(c.teacher, call)
    assert (await receive(teacher, "welcome"))["media"]["video"] is True
    student = await join(c.student, call)
    assert (await receive(student, "welcome"))["media"]["video"] is False
    plans = [await receive(teacher, "media") for _ in range(2)]  # its own arrival, then hers
    assert [plan["video"] for plan in plans] == [True, False]
    await student.disconnect()
    assert (await receive(teacher, "media"))["video"] is True
    await teacher.disconnect()

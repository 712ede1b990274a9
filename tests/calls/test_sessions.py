"""A call's socket closes when its browser signs out and when the person leaves the call's
school; the others in the call see the person go, and the stay is recorded as ended."""

import pytest
from channels.db import database_sync_to_async
from django.contrib.sessions.models import Session
from django.utils import timezone

from parta.accounts.models import Role
from parta.accounts.services import grant_role, revoke_role
from parta.invites.services import remove_member
from tests.calls.test_signaling import closed_with, join, receive, start, stays
from tests.realtime.test_sessions import Browser, signed_in_browser

pytestmark = pytest.mark.django_db(transaction=True)


async def in_call(call, browser: Browser):
    communicator = await join(None, call, cookie=browser.cookie)
    welcome = await receive(communicator, "welcome")
    return communicator, welcome["peer"]


async def test_signing_out_closes_the_call_socket_and_ends_the_stay(c):
    call = await start(c.teacher, c.org, conversation=c.chat)
    teacher, _ = await in_call(call, await signed_in_browser(c.teacher))
    browser = await signed_in_browser(c.student)
    student, student_peer = await in_call(call, browser)
    await receive(teacher, "peer-joined")

    await database_sync_to_async(browser.sign_out)()

    assert await closed_with(student) == 4403
    assert (await receive(teacher, "peer-left"))["peer"] == student_peer
    left = dict(await stays(call))
    assert left[c.student.pk] is not None
    assert left[c.teacher.pk] is None
    await teacher.disconnect()


async def test_removal_from_the_school_closes_the_call_socket(c):
    call = await start(c.teacher, c.org, conversation=c.chat)
    teacher, _ = await in_call(call, await signed_in_browser(c.teacher))
    student, student_peer = await in_call(call, await signed_in_browser(c.student))
    await receive(teacher, "peer-joined")

    await database_sync_to_async(remove_member)(c.student, c.org, actor=c.admin)

    assert await closed_with(student) == 4409
    assert (await receive(teacher, "peer-left"))["peer"] == student_peer
    await teacher.disconnect()


async def test_leaving_another_school_keeps_the_call(c, other_school):
    await database_sync_to_async(grant_role)(
        c.student, other_school, Role.STUDENT, valid_from=timezone.now()
    )
    call = await start(c.teacher, c.org, conversation=c.chat)
    teacher, teacher_peer = await in_call(call, await signed_in_browser(c.teacher))
    student, _ = await in_call(call, await signed_in_browser(c.student))
    await receive(teacher, "peer-joined")

    await database_sync_to_async(revoke_role)(c.student, other_school, Role.STUDENT)

    # Still in the call: the teacher's raised hand reaches the student.
    await teacher.send_json_to({"type": "state", "hand": True})
    state = await receive(student, "state")
    assert (state["peer"], state["state"]["hand"]) == (teacher_peer, True)
    await student.disconnect()
    await teacher.disconnect()


async def test_a_lost_close_message_is_made_up_for_at_the_next_heartbeat(c):
    call = await start(c.teacher, c.org, conversation=c.chat)
    browser = await signed_in_browser(c.teacher)
    teacher, _ = await in_call(call, browser)
    await database_sync_to_async(Session.objects.filter(session_key=browser.cookie).delete)()

    await teacher.send_json_to({"type": "heartbeat"})

    assert await closed_with(teacher) == 4403
    assert all(left is not None for _, left in await stays(call))

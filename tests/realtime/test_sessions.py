"""The events socket closes when its browser signs out and when the person leaves a school;
nothing is delivered on a socket after that."""

from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from django.conf import settings
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from parta.accounts.models import Role
from parta.accounts.services import grant_role, revoke_role
from parta.invites.services import remove_member
from parta.realtime.services import publish
from tests.factories import make_member
from tests.realtime.sockets import socket

pytestmark = pytest.mark.django_db(transaction=True)

TIMEOUT = 3


class Browser:
    """A browser signed in as `person`: its session cookie and a client to sign out with."""

    def __init__(self, person) -> None:
        self.client = Client()
        self.client.force_login(person)
        self.cookie = self.client.cookies[settings.SESSION_COOKIE_NAME].value

    def sign_out(self) -> None:
        self.client.post(reverse("accounts:sign-out"))


async def signed_in_browser(person) -> Browser:
    return await database_sync_to_async(Browser)(person)


async def open_events(browser: Browser):
    communicator = socket(browser.cookie)
    connected, _ = await communicator.connect()
    assert connected
    await communicator.send_json_to({"type": "resume", "after": None})
    assert (await communicator.receive_json_from(TIMEOUT))["type"] == "ready"
    return communicator


async def closed_with(communicator) -> int:
    output = await communicator.receive_output(TIMEOUT)
    assert output["type"] == "websocket.close", output
    return output["code"]


async def send_event(person, text: str = "Привет") -> None:
    await database_sync_to_async(publish)([person.pk], "message.new", {"text": text})


async def next_event(communicator) -> dict:
    message = await communicator.receive_json_from(TIMEOUT)
    assert message["type"] == "event", message
    return message


@pytest.fixture
def anna(school):
    return make_member(school, Role.TEACHER, "Иванова Анна Петровна")


async def test_signing_out_closes_that_browsers_socket_and_it_gets_no_later_event(anna):
    school_computer = await signed_in_browser(anna)
    phone = await signed_in_browser(anna)
    on_school_computer = await open_events(school_computer)
    on_phone = await open_events(phone)

    await database_sync_to_async(school_computer.sign_out)()
    await send_event(anna, "После выхода")

    assert await closed_with(on_school_computer) == 4401
    assert await on_school_computer.receive_nothing()
    # The phone's session is another one: it stays signed in and gets the event.
    assert (await next_event(on_phone))["payload"] == {"text": "После выхода"}
    await on_phone.disconnect()


async def test_a_lost_close_message_is_made_up_for_at_the_next_ping(anna):
    browser = await signed_in_browser(anna)
    communicator = await open_events(browser)
    # The session ends without the sign-out's message (expired, or the message was lost).
    await database_sync_to_async(Session.objects.filter(session_key=browser.cookie).delete)()

    await communicator.send_json_to({"type": "ping"})
    assert await closed_with(communicator) == 4401
    await send_event(anna)
    assert await communicator.receive_nothing()


async def test_an_expired_session_is_noticed_at_the_next_ping(anna):
    browser = await signed_in_browser(anna)
    communicator = await open_events(browser)
    await database_sync_to_async(Session.objects.filter(session_key=browser.cookie).update)(
        expire_date=timezone.now() - timedelta(seconds=1)
    )

    await communicator.send_json_to({"type": "ping"})
    assert await closed_with(communicator) == 4401


async def test_a_ping_of_a_signed_in_socket_gets_pong(anna):
    communicator = await open_events(await signed_in_browser(anna))
    await communicator.send_json_to({"type": "ping"})
    assert (await communicator.receive_json_from(TIMEOUT))["type"] == "pong"
    await communicator.disconnect()


async def test_removal_from_the_school_closes_the_persons_sockets(school, anna):
    admin = await database_sync_to_async(make_member)(school, Role.ADMIN, "Петров Олег Ильич")
    first = await open_events(await signed_in_browser(anna))
    second = await open_events(await signed_in_browser(anna))

    await database_sync_to_async(remove_member)(anna, school, actor=admin)

    assert await closed_with(first) == 4412
    assert await closed_with(second) == 4412


async def test_the_end_of_the_last_role_closes_the_socket_another_role_keeps_it(school, anna):
    await database_sync_to_async(make_member)(school, Role.ADMIN, "Петров Олег Ильич")
    await database_sync_to_async(grant_role)(
        anna, school, Role.PARENT, valid_from=timezone.now() - timedelta(days=1)
    )
    communicator = await open_events(await signed_in_browser(anna))

    await database_sync_to_async(revoke_role)(anna, school, Role.TEACHER)
    await send_event(anna, "Всё ещё родитель")
    assert (await next_event(communicator))["payload"] == {"text": "Всё ещё родитель"}

    await database_sync_to_async(revoke_role)(anna, school, Role.PARENT)
    assert await closed_with(communicator) == 4412


async def test_a_planned_role_end_does_not_close_the_socket_now(school, anna):
    communicator = await open_events(await signed_in_browser(anna))
    await database_sync_to_async(revoke_role)(
        anna, school, Role.TEACHER, at=timezone.now() + timedelta(days=30)
    )
    await send_event(anna, "До конца месяца")
    assert (await next_event(communicator))["payload"] == {"text": "До конца месяца"}
    await communicator.disconnect()

"""«Чужой компьютер» on the invite's code page: the session ends with the browser."""

from django.conf import settings
from django.urls import reverse

from parta.accounts import sms
from tests.accounts.conftest import last_code
from tests.invites.conftest import make_link

PHONE = "+79135550011"


def _to_code_page(client, world):
    client.post(reverse("invites:join"), {"token": make_link(world, "student").token})
    client.post(reverse("invites:join-phone"), {"phone": PHONE})
    return client.get(reverse("invites:join-code")).content.decode()


def test_joining_on_a_shared_computer_ends_the_session_with_the_browser(client, world):
    page = _to_code_page(client, world)
    assert "Чужой компьютер" in page
    response = client.post(
        reverse("invites:join-code"),
        {
            "code": last_code(sms.outbox, PHONE),
            "full_name": "Зайцев Миша Игоревич",
            "shared_computer": "on",
        },
    )
    assert response["Location"] == reverse("invites:join")
    assert response.cookies[settings.SESSION_COOKIE_NAME]["max-age"] == ""
    assert client.session.get_expire_at_browser_close()


def test_joining_otherwise_keeps_the_session_for_parta_session_age(client, world):
    _to_code_page(client, world)
    response = client.post(
        reverse("invites:join-code"),
        {"code": last_code(sms.outbox, PHONE), "full_name": "Зайцев Миша Игоревич"},
    )
    assert response.cookies[settings.SESSION_COOKIE_NAME]["max-age"] == settings.PARTA_SESSION_AGE
    assert not client.session.get_expire_at_browser_close()

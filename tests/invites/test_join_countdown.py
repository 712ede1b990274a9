"""The invite's phone step counts down to the next code, like the sign-in page."""

from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from parta.accounts import sms
from tests.invites.conftest import make_link

PHONE = "+79135550011"


def test_too_many_codes_on_the_join_page_count_down(client, world, monkeypatch):
    start = timezone.now()
    monkeypatch.setattr(timezone, "now", lambda: start)
    client.post(reverse("invites:join"), {"token": make_link(world, "student").token})
    for _ in range(3):
        client.post(reverse("invites:join-phone"), {"phone": PHONE})
    monkeypatch.setattr(timezone, "now", lambda: start + timedelta(seconds=61))

    response = client.post(reverse("invites:join-phone"), {"phone": PHONE})

    assert response.status_code == 429
    assert response["Retry-After"] == "539"
    page = response.content.decode()
    assert "Слишком много запросов кода. Повторите через 9 минут." in page
    assert "Новый код можно будет запросить через <span data-countdown>8:59</span>." in page
    assert '<script type="module" src="/static/accounts/countdown.js"></script>' in page
    assert len(sms.outbox) == 3

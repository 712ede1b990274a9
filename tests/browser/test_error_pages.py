"""The refusal, missing-page and failure pages on a phone's screen (390×844): the words
are visible and nothing runs off to the side."""

import pytest
from django.conf import settings

from parta.accounts.models import Role
from tests.factories import make_member
from tests.realtime.sockets import session_cookie

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
# The test urlconf of tests/web: a view that breaks, and the site's own pages.
ERROR_URLS = "tests.web.test_error_pages"


def _phone_page(browser, live_server, person=None):
    context = browser.new_context(base_url=live_server.url, locale="ru-RU", viewport=PHONE)
    if person is not None:
        context.add_cookies(
            [
                {
                    "name": settings.SESSION_COOKIE_NAME,
                    "value": session_cookie(person),
                    "url": live_server.url,
                }
            ]
        )
    return context.new_page()


def _fits_the_screen(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def test_a_refusal_on_a_phone(browser, live_server, school):
    from playwright.sync_api import expect

    page = _phone_page(browser, live_server, make_member(school, Role.TEACHER))
    response = page.goto(f"/org/{school.pk}/classes/")
    assert response is not None and response.status == 403
    expect(page.get_by_role("heading", name="Нет доступа")).to_be_visible()
    expect(page.get_by_text("Это может сделать только администратор организации")).to_be_visible()
    expect(page.get_by_role("link", name="Мои организации").last).to_be_visible()
    assert _fits_the_screen(page)
    page.context.close()


@pytest.mark.urls(ERROR_URLS)
def test_missing_and_failed_pages_on_a_phone(browser, live_server):
    from playwright.sync_api import expect

    page = _phone_page(browser, live_server)
    response = page.goto("/no-such-page/")
    assert response is not None and response.status == 404
    expect(page.get_by_role("heading", name="Страница не найдена")).to_be_visible()
    assert _fits_the_screen(page)

    response = page.goto("/broken/")
    assert response is not None and response.status == 500
    expect(page.get_by_role("heading", name="Ошибка на сервере")).to_be_visible()
    expect(page.get_by_role("link", name="На главную")).to_be_visible()
    assert _fits_the_screen(page)
    page.context.close()

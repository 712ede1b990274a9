"""The shell on a phone (390×844) and a laptop (1366×768): a parent and a student follow
every menu item and tab they are shown, and none of them is a refusal."""

import pytest
from django.urls import reverse

from parta.invites.models import JoinRequest
from tests.browser.conftest import signed_in_page
from tests.factories import local, make_member

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOWN_LINKS = ".site-header a:visible, .tab-bar a:visible"


def _person(school, role):
    person = make_member(school, role, "Иванова Мария Сергеевна")
    if role == "parent":
        # A request of her own, so «Мои заявки» is among the links followed.
        JoinRequest.objects.create(
            person=person, organization=school, role="parent", created_at=local("2026-11-16 08:00")
        )
    return person


@pytest.mark.parametrize("role", ["parent", "student"])
def test_on_a_phone_no_menu_item_or_tab_is_a_refusal(school, browser, live_server, role):
    from playwright.sync_api import expect

    page = signed_in_page(browser, live_server.url, _person(school, role))
    page.set_viewport_size({"width": 390, "height": 844})
    for start in (reverse("web:home"), reverse("messaging:list")):
        page.goto(start)
        tabs = page.locator(".tab-bar")
        expect(tabs).to_be_visible()
        expect(tabs.get_by_role("link", name="Сообщения")).to_be_visible()
        expect(tabs.get_by_role("link", name="Звонки")).to_be_visible()
        # The sections live in the bar, not twice on the screen.
        expect(page.locator(".site-header nav .tab-item:visible")).to_have_count(0)
        expect(page.get_by_role("link", name="Управление")).to_have_count(0)
        expect(page.get_by_role("link", name="Показатели")).to_have_count(0)
        expect(page.get_by_role("link", name="Новый чат или канал")).to_have_count(0)
        links = [link.get_attribute("href") for link in page.locator(SHOWN_LINKS).all()]
        assert reverse("messaging:list") in links and reverse("calls:mine") in links
        assert (reverse("invites:my-requests") in links) is (role == "parent")
        for href in links:
            response = page.goto(href)
            assert response is not None and response.status < 400, (start, href, response)
            expect(page.locator("main")).to_be_attached()


def test_on_a_laptop_the_menu_is_in_the_header(school, browser, live_server):
    from playwright.sync_api import expect

    page = signed_in_page(browser, live_server.url, make_member(school, "admin"))
    page.set_viewport_size({"width": 1366, "height": 768})
    page.goto(reverse("messaging:list"))
    menu = page.get_by_role("navigation", name="Главное меню")
    for name in ("Сообщения", "Звонки", "Показатели", "Управление", "Мои организации"):
        expect(menu.get_by_role("link", name=name)).to_be_visible()
    expect(page.locator(".tab-bar")).to_be_hidden()
    expect(page.get_by_role("link", name="Новый чат или канал")).to_be_visible()

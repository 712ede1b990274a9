"""The service worker (notifications/sw.js): once it is active, a second load of a chat page
takes every static file it uses from the worker, none from the network, and a page opened
offline shows the offline page. http://localhost is a secure context, as the worker needs."""

import pytest

from parta.messaging.services import send_message
from tests.browser.conftest import signed_in_page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CONTROLLED = """() => navigator.serviceWorker.controller ? true : new Promise((done) =>
  navigator.serviceWorker.addEventListener("controllerchange", () => done(true)))"""


def test_the_second_load_takes_the_shell_from_the_worker_and_offline_shows_a_page(
    staff_chat, browser, live_server
):
    from playwright.sync_api import expect

    teacher, colleague, chat = staff_chat
    send_message(colleague, chat, "Совещание в пятницу")
    server = live_server.url.replace("127.0.0.1", "localhost")
    page = signed_in_page(browser, server, teacher)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"/messages/{chat.pk}/")
    expect(page.locator("#messages[data-ready]")).to_be_attached()
    assert page.evaluate("window.isSecureContext") is True
    # Active and in control of this page (clients.claim).
    # (An evaluated promise, not wait_for_function: the site's CSP forbids its eval.)
    assert page.evaluate(CONTROLLED) is True

    static = []  # (url, from the worker) of each static file the page asked for
    # What the worker itself asked the network for: a response from the worker may still
    # have come from the network (a cache miss it fetched).
    fetched_by_worker = []

    def on_response(response):
        if "/static/" in response.url:
            static.append((response.url, response.from_service_worker))

    def on_request(request):
        if request.service_worker is not None:
            fetched_by_worker.append(request.url)

    page.on("response", on_response)
    page.context.on("request", on_request)
    page.reload()
    expect(page.locator("#messages[data-ready]")).to_be_attached()
    expect(page.locator(".chat-bell")).to_be_attached()
    page.wait_for_load_state("networkidle")

    names = {url.split("/static/")[1] for url, _ in static}
    # What the chat page uses: styles, the modules and what they import, the icon.
    assert {
        "web/parta.css",
        "messaging/chat.css",
        "messaging/chat.js",
        "realtime/events.js",
        "notifications/push.js",
        "notifications/chat_bell.js",
        "notifications/favicon.png",
    } <= names, names
    assert [url for url, from_worker in static if not from_worker] == []
    assert [url for url in fetched_by_worker if "/static/" in url] == []

    page.context.set_offline(True)
    page.goto("/calls/")
    expect(page.get_by_role("heading", name="Нет связи")).to_be_visible()
    # Styled from the cache, offline.
    assert page.evaluate("getComputedStyle(document.body).margin") == "0px"

"""events.js in Debian's chromium against a real uvicorn process: resume, no duplicate after
a reload, and the polling fallback when the WebSocket cannot connect."""

from pathlib import Path

import pytest
from django.conf import settings
from django.db import connections

from parta.realtime.services import publish
from tests.factories import make_person
from tests.realtime.servers import server_env, uvicorn_servers
from tests.realtime.sockets import session_cookie

CHROMIUM = Path("/usr/bin/chromium")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is absent"),
]

# A page of the test's own (served by Playwright, not by Parta) that loads the module.
PAGE = """<!doctype html><html lang="ru"><body><script type="module">
{prelude}
import {{ start }} from "/static/realtime/events.js";
window.seen = [];
document.addEventListener("parta:event", (e) => window.seen.push(e.detail.seq));
start({{ after: 0 }});
</script></body></html>"""
# A network that refuses WebSocket upgrades (some school proxies do).
NO_WEBSOCKET = """window.WebSocket = class {
  constructor() { setTimeout(() => this.onclose({ code: 1006 }), 10); }
};"""
# The types of the messages the page's sockets receive, in order, for the test to wait on.
RECORD_MESSAGES = """window.received = [];
const NativeWebSocket = window.WebSocket;
window.WebSocket = class extends NativeWebSocket {
  constructor(...args) {
    super(...args);
    this.addEventListener("message", (e) => window.received.push(JSON.parse(e.data).type));
  }
};"""


@pytest.fixture
def server(transactional_db, tmp_path):
    with uvicorn_servers(server_env(DEBUG="1"), tmp_path, count=1) as ports:
        yield f"http://127.0.0.1:{ports[0]}"


@pytest.fixture
def browser_page(server, monkeypatch):
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop in this thread; the test's own database
    # calls (publish) are still plain sync calls.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    anna = make_person("Иванова Анна")
    with sync_playwright() as playwright:
        # Chromium's Local Network Access checks take the page Playwright fulfils (no address
        # of its own) for a public one and block its socket to 127.0.0.1: the resume test
        # then passed by polling, never by the WebSocket it is about.
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-gpu", "--disable-features=LocalNetworkAccessChecks"],
            headless=True,
        )
        context = browser.new_context(base_url=server)
        context.add_cookies(
            [
                {
                    "name": settings.SESSION_COOKIE_NAME,
                    "value": session_cookie(anna),
                    "url": server,
                }
            ]
        )
        yield anna, context.new_page()
        # Inside Playwright's event loop Django keeps a connection of its own for this
        # context; left open, it keeps PostgreSQL from dropping the test database.
        connections.close_all()
        browser.close()


def _serve(page, prelude: str = "") -> None:
    page.route(
        "**/realtime-page",
        lambda route: route.fulfill(content_type="text/html", body=PAGE.format(prelude=prelude)),
    )
    page.goto("/realtime-page")


def test_the_page_catches_up_then_resumes_after_a_reload_without_duplicates(browser_page):
    anna, page = browser_page
    publish([anna.pk], "message.new", {"n": 1})
    publish([anna.pk], "message.new", {"n": 2})

    _serve(page, prelude=RECORD_MESSAGES)
    page.wait_for_function("window.received.includes('ready')", timeout=10_000)
    assert page.evaluate("window.received") == ["event", "event", "ready"]  # by the socket
    assert page.evaluate("window.seen") == [1, 2]
    assert page.evaluate("sessionStorage.getItem('parta.realtime.seq')") == "2"

    publish([anna.pk], "message.new", {"n": 3})  # while the tab reloads
    page.reload()
    # «ready» ends the catch-up after the reload: a duplicate would have come before it, and
    # nothing is published after it.
    page.wait_for_function("window.received.includes('ready')", timeout=10_000)
    assert page.evaluate("window.received") == ["event", "ready"]
    assert page.evaluate("window.seen") == [3]


def test_without_a_websocket_the_page_polls(browser_page):
    anna, page = browser_page
    publish([anna.pk], "message.new", {"n": 1})

    _serve(page, prelude=NO_WEBSOCKET)
    page.wait_for_function("window.seen.length === 1", timeout=15_000)
    publish([anna.pk], "message.new", {"n": 2})
    page.wait_for_function("window.seen.length === 2", timeout=15_000)
    assert page.evaluate("window.seen") == [1, 2]

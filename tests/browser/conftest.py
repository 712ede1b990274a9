"""Browser tests drive Debian's chromium through Playwright; no browser is downloaded."""

import os
from pathlib import Path

import pytest
from django.conf import settings

from parta.messaging.models import Conversation
from parta.messaging.services import create_conversation
from tests.factories import make_member
from tests.realtime.sockets import session_cookie

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

# Playwright's sync API keeps an event loop in the test thread; Django would
# otherwise refuse the test thread's own database calls (flush between tests).
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"


def pytest_collection_modifyitems(config, items):
    if CHROMIUM.exists():
        return
    skip = pytest.mark.skip(
        reason=f"{CHROMIUM} is absent; install Debian's chromium (apt-get install chromium)"
    )
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(skip)


# One browser per module, not per session: Playwright's sync API keeps an event loop
# running in the test thread while it is open, and the async tests after the browser
# modules (Channels' communicators) need that thread free.
@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(base_url=live_server.url, locale="ru-RU")
    page = context.new_page()
    yield page
    context.close()


def signed_in_page(browser, server: str, person):
    """A page of its own browser context, signed in as `person` on `server`."""
    context = browser.new_context(base_url=server, locale="ru-RU")
    context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": session_cookie(person), "url": server}]
    )
    return context.new_page()


@pytest.fixture
def staff_chat(school):
    """Two teachers of the school and their staff chat: (teacher, colleague, chat)."""
    teacher = make_member(school, "teacher", "Смирнова Елена Викторовна")
    colleague = make_member(school, "teacher", "Кузнецов Денис Андреевич")
    chat = create_conversation(
        teacher,
        school,
        title="Методическое объединение",
        purpose=Conversation.Purpose.STAFF,
        members=[colleague],
    )
    return teacher, colleague, chat

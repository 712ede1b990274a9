"""The pages that run scripts, in Debian's chromium under Parta's real Content-Security-Policy
(a live uvicorn): each works — the chat live, the invite link posted from the address, the
new link's copy, select and print buttons, the call's socket, the API docs — and the browser
reports no violation of the policy."""

import re
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.db import connections

from parta.accounts.models import Role
from parta.calls.services import open_call
from parta.invites.services import create_invite
from parta.messaging.services import create_conversation, send_message
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, signed_in_page
from tests.browser.test_call_media import MEDIA_ARGS
from tests.factories import make_class, make_member
from tests.realtime.servers import server_env, uvicorn_servers

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} is absent"),
]

# Runs before any page script, in every document of the context (a form post makes a new
# one); the binding is the browser's, outside the page's policy.
REPORT_VIOLATIONS = """document.addEventListener("securitypolicyviolation", (e) =>
  window.reportViolation(`${e.effectiveDirective} refused ${e.blockedURI || "inline"}`));"""


@pytest.fixture
def server(transactional_db, tmp_path):
    with uvicorn_servers(server_env(DEBUG="1"), tmp_path, count=1) as ports:
        yield f"http://127.0.0.1:{ports[0]}"


@contextmanager
def chromium():
    """Started after a test's data: the sync API's event loop would refuse its on_commit hooks."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS + MEDIA_ARGS, headless=True
        )
        yield browser
        browser.close()
        # Inside Playwright's loop Django opened a connection of its own (the session
        # cookie); left open, it keeps PostgreSQL from dropping the test database.
        connections.close_all()


class Watched:
    """What the browser said about a page: policy violations and uncaught script errors."""

    def __init__(self, page) -> None:
        self.page = page
        self.violations: list[str] = []
        self.errors: list[str] = []
        page.context.expose_function("reportViolation", lambda text: self.violations.append(text))
        page.context.add_init_script(REPORT_VIOLATIONS)
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.errors.append(str(error)))

    def _console(self, message) -> None:
        if "Content Security Policy" in message.text:
            self.violations.append(message.text)

    def assert_clean(self) -> None:
        assert self.violations == []
        assert self.errors == []


def watched(browser, server: str, person=None) -> Watched:
    if person is not None:
        return Watched(signed_in_page(browser, server, person))
    return Watched(browser.new_context(base_url=server, locale="ru-RU").new_page())


def test_the_chat_page_works_live_under_the_policy(staff_chat, server):
    teacher, colleague, chat = staff_chat
    send_message(teacher, chat, "Коллеги, доброе утро!")
    with chromium() as browser:
        reader, writer = watched(browser, server, teacher), watched(browser, server, colleague)
        for tab in (reader, writer):
            tab.page.goto(f"/messages/{chat.pk}/")
            tab.page.wait_for_selector("text=Коллеги, доброе утро!")
        # events.js keeps the last event number once its socket has said «ready».
        reader.page.wait_for_function("() => sessionStorage.getItem('parta.realtime.seq')")
        writer.page.fill("#text", "Отчёт по 5А готов")
        writer.page.click("#composer button[type=submit]")
        reader.page.wait_for_selector("#messages >> text=Отчёт по 5А готов", timeout=15_000)
        reader.assert_clean()
        writer.assert_clean()


def test_the_joining_page_posts_the_link_from_the_address_under_the_policy(school, server):
    admin = make_member(school, Role.ADMIN, "Орлова Анна Сергеевна")
    staff_class = make_class(school, "1*У*Учительский", is_staff_class=True)
    invite = create_invite(school, Role.TEACHER, actor=admin, school_class=staff_class)
    with chromium() as browser:
        tab = watched(browser, server)
        tab.page.goto(invite.path)
        tab.page.wait_for_url("**/join/")
        assert tab.page.get_by_text("Учительская (класс для учителей школы)").is_visible()
        assert "#" not in tab.page.url
        tab.assert_clean()


def test_the_new_link_page_copies_selects_and_prints_without_inline_handlers(school, server):
    from playwright.sync_api import expect

    admin = make_member(school, Role.ADMIN, "Орлова Анна Сергеевна")
    make_class(school, "1*У*Учительский", is_staff_class=True)
    with chromium() as browser:
        tab = watched(browser, server, admin)
        tab.page.goto(f"/org/{school.pk}/links/")
        # links.js asks the admin-link question only for the admin role.
        confirm = tab.page.get_by_label("Я понимаю, что по этой ссылке человек станет")
        assert not confirm.is_visible()
        tab.page.get_by_label("Роль").select_option(label="администратор")
        assert confirm.is_visible()
        tab.page.get_by_label("Роль").select_option(label="учитель")
        tab.page.get_by_label("Класс").select_option(label="Учительская (класс для учителей школы)")
        tab.page.get_by_role("button", name="Сделать ссылку").click()
        tab.page.wait_for_url("**/links/*/new/")
        # Copied, or (the clipboard refused) selected for copying by hand: either is said.
        tab.page.get_by_role("button", name="Скопировать").click()
        expect(tab.page.get_by_role("status")).to_have_text(
            re.compile(r"^Ссылка (скопирована|выделена: скопируйте её)")
        )
        tab.page.locator("#invite-url").click()
        assert tab.page.evaluate(
            "() => { const i = document.getElementById('invite-url');"
            " return i.selectionStart === 0 && i.selectionEnd === i.value.length; }"
        )
        tab.page.evaluate("() => { window.print = () => { window.printed = true; }; }")
        tab.page.get_by_role("button", name="Напечатать").click()
        assert tab.page.evaluate("() => window.printed") is True
        tab.assert_clean()


def test_the_call_page_connects_its_socket_under_the_policy(school, server):
    teacher = make_member(school, "teacher", "Смирнова Елена Викторовна")
    student = make_member(school, "student", "Соколов Артём")
    chat = create_conversation(teacher, school, title="Математика 5А", members=[student])
    call = open_call(teacher, school, conversation=chat).call
    with chromium() as browser:
        tab = watched(browser, server, teacher)
        tab.page.goto(f"/calls/{call.pk}/")
        # The server's welcome names the teacher the moderator: «Завершить для всех» shows.
        tab.page.get_by_role("button", name="Завершить для всех").wait_for()
        tab.page.wait_for_function("() => document.getElementById('local').srcObject !== null")
        tab.assert_clean()


def test_the_api_docs_render_from_parta_s_own_files_under_the_policy(server):
    with chromium() as browser:
        tab = watched(browser, server)
        requested: list[str] = []
        tab.page.on("request", lambda request: requested.append(request.url))
        tab.page.goto("/api/docs")
        tab.page.locator(".swagger-ui .info .title").get_by_text("Parta API").wait_for()
        tab.page.locator(".opblock").first.wait_for()  # the schema was fetched and drawn
        assert all(url.startswith((server, "data:")) for url in requested), requested
        tab.assert_clean()

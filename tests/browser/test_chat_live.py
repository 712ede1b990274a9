"""Two people with one chat open in Debian's chromium: what one sends from the composer
appears on the other's page as it is sent, with no reload (realtime/events.js + chat.js)."""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from parta.messaging.models import Conversation, Message
from parta.messaging.services import create_conversation, send_message
from tests.browser.conftest import signed_in_page
from tests.factories import make_member
from tests.realtime.servers import server_env, uvicorn_servers

CHROMIUM = Path("/usr/bin/chromium")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is absent"),
]


@contextmanager
def chat_pages(chat: Conversation, people: list, tmp_path: Path) -> Iterator[dict]:
    """Each person's page of `chat` (by person id), open in chromium, on a server of its own."""
    from playwright.sync_api import expect, sync_playwright

    with uvicorn_servers(server_env(DEBUG="1"), tmp_path, count=1) as ports:
        server = f"http://127.0.0.1:{ports[0]}"
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"]
            )
            pages = {}
            for person in people:
                page = signed_in_page(browser, server, person)
                page.goto(f"/messages/{chat.pk}/")
                expect(page.locator("#composer")).to_be_visible()
                pages[person.pk] = page
            yield pages
            browser.close()


def test_a_message_appears_live_on_an_open_chat_page(school, tmp_path, monkeypatch):
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    teacher = make_member(school, "teacher", "Смирнова Елена Викторовна")
    colleague = make_member(school, "teacher", "Кузнецов Денис Андреевич")
    chat = create_conversation(
        teacher,
        school,
        title="Методическое объединение",
        purpose=Conversation.Purpose.STAFF,
        members=[colleague],
    )
    send_message(teacher, chat, "Коллеги, доброе утро!")
    with chat_pages(chat, [teacher, colleague], tmp_path) as pages:
        for page in pages.values():
            page.wait_for_selector("text=Коллеги, доброе утро!")
        # The reader's socket is open and caught up: events.js keeps the number of its
        # «ready» answer (the page's own number is not stored), so what follows is live.
        pages[teacher.pk].wait_for_function(
            "sessionStorage.getItem('parta.realtime.seq') !== null", timeout=15_000
        )
        writer = pages[colleague.pk]
        writer.fill("#text", "Отчёт по 5А готов")
        writer.click("#composer button[type=submit]")
        reader = pages[teacher.pk]
        reader.wait_for_selector("text=Отчёт по 5А готов", timeout=15_000)
        assert reader.locator("text=Отчёт по 5А готов").count() == 1
        assert "/messages/" in reader.url  # the same page, never reloaded
    assert Message.objects.filter(text="Отчёт по 5А готов", author=colleague).count() == 1


def test_a_live_message_keeps_its_line_breaks_as_the_reloaded_page_shows_them(
    school, tmp_path, monkeypatch
):
    """chat.js draws live messages, _message.html the page's own: their bodies agree."""
    from playwright.sync_api import expect

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    teacher = make_member(school, "teacher", "Смирнова Елена Викторовна")
    colleague = make_member(school, "teacher", "Кузнецов Денис Андреевич")
    chat = create_conversation(
        teacher, school, title="Методическое объединение", members=[colleague]
    )
    text = "План на неделю:\n1. Педсовет\n\n2. Отчёт по 5А"
    with chat_pages(chat, [teacher, colleague], tmp_path) as pages:
        # No wait for the sockets: one that opens later resumes from the page's number.
        writer, reader = pages[colleague.pk], pages[teacher.pk]
        writer.fill("#text", text)
        writer.click("#composer button[type=submit]")
        live = {}
        for person, page in pages.items():
            body = page.locator(".msg", has_text="Педсовет").locator(".text")
            expect(body).to_contain_text("Отчёт по 5А", timeout=15_000)
            live[person] = body.inner_html()
        assert "/messages/" in reader.url  # drawn live, never reloaded
        for person, page in pages.items():
            page.reload()
            body = page.locator(".msg", has_text="Педсовет").locator(".text")
            expect(body).to_be_visible()
            assert body.inner_html() == live[person]
        assert live[teacher.pk] == "План на неделю:<br>1. Педсовет<br><br>2. Отчёт по 5А"
    assert Message.objects.get(author=colleague).text == text

"""Two people with one chat open in Debian's chromium: what one sends from the composer
appears on the other's page as it is sent, with no reload (realtime/events.js + chat.js)."""

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


def test_a_message_appears_live_on_an_open_chat_page(school, tmp_path, monkeypatch):
    from playwright.sync_api import sync_playwright

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
    with uvicorn_servers(server_env(DEBUG="1"), tmp_path, count=1) as ports:
        server = f"http://127.0.0.1:{ports[0]}"
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"]
            )
            pages = {}
            for person in (teacher, colleague):
                page = signed_in_page(browser, server, person)
                page.goto(f"/messages/{chat.pk}/")
                page.wait_for_selector("text=Коллеги, доброе утро!")
                pages[person.pk] = page
            pages[teacher.pk].wait_for_timeout(1500)  # the socket connects
            writer = pages[colleague.pk]
            writer.fill("#text", "Отчёт по 5А готов")
            writer.click("#composer button[type=submit]")
            reader = pages[teacher.pk]
            reader.wait_for_selector("text=Отчёт по 5А готов", timeout=15_000)
            assert reader.locator("text=Отчёт по 5А готов").count() == 1
            assert "/messages/" in reader.url  # the same page, never reloaded
            browser.close()
    assert Message.objects.filter(text="Отчёт по 5А готов", author=colleague).count() == 1

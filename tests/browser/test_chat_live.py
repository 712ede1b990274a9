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
from tests.messaging.files import docx_bytes, image_bytes
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


def test_a_message_appears_live_on_an_open_chat_page(staff_chat, tmp_path, monkeypatch):
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    teacher, colleague, chat = staff_chat
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
    send_message(teacher, chat, "Коллеги, что у нас на неделе?\nПишите & <b>не стесняйтесь</b>")
    text = "План на неделю:\n1. Педсовет\n\n2. Отчёт по 5А"
    files = {
        "photo.png": ("image/png", image_bytes()),
        "plan.docx": (
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            docx_bytes(),
        ),
    }
    with chat_pages(chat, [teacher, colleague], tmp_path) as pages:
        # No wait for the sockets: one that opens later resumes from the page's number.
        writer, reader = pages[colleague.pk], pages[teacher.pk]
        for name, (mime, content) in files.items():
            question = writer.locator(".msg", has=writer.locator("p.text", has_text="что у нас"))
            question.locator("summary").click()
            question.get_by_role("button", name="Ответить").click()
            expect(writer.locator(".replying")).to_contain_text("Смирнова Елена Викторовна")
            writer.fill("#text", text if name == "photo.png" else "И план")
            writer.set_input_files(
                "#composer input[type=file]",
                files=[{"name": name, "mimeType": mime, "buffer": content}],
            )
            expect(writer.locator(".chosen")).to_contain_text(name)
            writer.click("#composer button[type=submit]")
            expect(writer.locator(".replying")).to_be_hidden(timeout=15_000)
        live = {}
        for person, page in pages.items():
            expect(page.locator(".msg .file .name")).to_have_text("plan.docx", timeout=15_000)
            body = page.locator(".msg", has=page.locator("p.text", has_text="Педсовет")).locator(
                ".text"
            )
            expect(body).to_contain_text("Отчёт по 5А", timeout=15_000)
            live[person] = page.locator(".msg").evaluate_all("(all) => all.map((m) => m.outerHTML)")
        assert "/messages/" in reader.url  # drawn live, never reloaded
        for person, page in pages.items():
            page.reload()
            expect(page.locator("#messages[data-ready]")).to_be_attached()
            drawn = page.locator(".msg").evaluate_all("(all) => all.map((m) => m.outerHTML)")
            # The whole message as the server draws it: quote, files, menu and all.
            assert drawn == live[person]
        body = reader.locator(".msg", has=reader.locator("p.text", has_text="Педсовет"))
        assert body.locator(".text").inner_html() == (
            "План на неделю:<br>1. Педсовет<br><br>2. Отчёт по 5А"
        )
        assert body.locator("blockquote").inner_text().startswith("Смирнова Елена Викторовна: ")
        assert body.locator("img[alt='photo.png']").count() == 1
        # The chat's owner moderates a colleague's message but may not edit it.
        actions = body.locator(".actions button").all_text_contents()
        assert actions == ["Ответить", "Копировать", "Закрепить", "Удалить"]
        mine = writer.locator(".msg", has=writer.locator("p.text", has_text="Педсовет"))
        assert mine.locator(".actions button").all_text_contents() == [
            "Ответить",
            "Копировать",
            "Изменить",
            "Удалить",
        ]
    assert Message.objects.get(author=colleague, text=text).reply_to is not None

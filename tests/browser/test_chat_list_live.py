"""The chat list on a parent's phone (390×844), in Debian's chromium: the class teacher
writes, and the parent's open list raises that chat's badge, shows the new line and moves the
chat to the top, with no reload; the total in the tab bar and the tab's title rises with it.
The list and the chat show one local time for one message."""

from datetime import UTC, datetime
from pathlib import Path

import pytest

from parta.accounts.models import ClassEnrolment, ParentLink
from parta.messaging.models import Conversation, Message
from parta.messaging.services import create_conversation, mark_read, send_message
from tests.browser.conftest import signed_in_page
from tests.factories import local, make_class, make_member
from tests.realtime.servers import server_env, uvicorn_servers

CHROMIUM = Path("/usr/bin/chromium")
PHONE = {"width": 390, "height": 844}

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is absent"),
]


@pytest.fixture
def family(school):
    """A class teacher, a parent of her class, and the parent's two chats with her:
    (teacher, parent, parents' chat, committee), the committee the latest active."""
    teacher = make_member(school, "teacher", "Смирнова Елена Викторовна")
    five_a = make_class(school, "5А", class_teacher=teacher)
    student = make_member(school, "student", "Соколов Артём")
    ClassEnrolment.objects.create(
        student=student, school_class=five_a, valid_from=local("2026-09-01 00:00")
    )
    parent = make_member(school, "parent", "Соколова Ирина Павловна")
    ParentLink.objects.create(parent=parent, child=student)
    parents = create_conversation(
        teacher,
        school,
        title="5А — родители",
        purpose=Conversation.Purpose.PARENTS,
        school_class=five_a,
    )
    committee = create_conversation(teacher, school, title="Родительский комитет", members=[parent])
    send_message(teacher, parents, "Добро пожаловать")
    send_message(teacher, committee, "Сбор на экскурсию")
    for chat in (parents, committee):
        mark_read(parent, chat)
    return teacher, parent, parents, committee


def _socket_ready(page) -> None:
    # events.js keeps the number of its «ready» answer: from then on events are live.
    page.wait_for_function(
        "() => sessionStorage.getItem('parta.realtime.seq') !== null", timeout=15_000
    )


def test_a_parents_list_gets_the_badge_live_and_the_total_rises(
    family, browser, tmp_path, monkeypatch
):
    from playwright.sync_api import expect

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    teacher, parent, parents, committee = family
    with uvicorn_servers(server_env(DEBUG="1"), tmp_path, count=1) as ports:
        server = f"http://127.0.0.1:{ports[0]}"
        reader = signed_in_page(browser, server, parent)
        reader.set_viewport_size(PHONE)
        reader.goto("/messages/")
        expect(reader.locator("#chats[data-ready]")).to_be_attached()
        rows = reader.locator("#chats li[data-conversation]")
        expect(rows.first).to_have_attribute("data-conversation", str(committee.pk))
        tab = reader.locator(".tab-bar .unread-total")
        expect(tab).to_be_hidden()
        assert not reader.title().startswith("(")
        _socket_ready(reader)

        writer = signed_in_page(browser, server, teacher)
        writer.goto(f"/messages/{parents.pk}/")
        writer.fill("#text", "Собрание в четверг в 18:00\nв кабинете 12")
        writer.click("#composer button[type=submit]")

        row = reader.locator(f'#chats li[data-conversation="{parents.pk}"]')
        expect(row.locator(".badge")).to_have_text("1", timeout=15_000)
        expect(row.locator(".badge")).to_be_visible()
        expect(row.locator(".what")).to_have_text("Собрание в четверг в 18:00")
        expect(row.locator(".who")).to_have_text("Смирнова Е. В.")
        expect(rows.first).to_have_attribute("data-conversation", str(parents.pk))
        # The phone's tab bar and the tab's title count it too.
        expect(tab).to_be_visible()
        expect(tab.locator(".count")).to_have_text("1")
        expect(reader).to_have_title("(1) Сообщения — Парта")
        assert "/messages/" in reader.url and reader.locator(".badge:visible").count() == 1
        listed = row.locator("time")
        live_time = (listed.inner_text(), listed.get_attribute("title"))

        # The page drawn again says the same: live and drawn rows agree.
        reader.reload()
        expect(row.locator(".badge")).to_have_text("1")
        assert (listed.inner_text(), listed.get_attribute("title")) == live_time
        assert reader.title() == "(1) Сообщения — Парта"

        # Opening the chat reads it: the same time there, and the total is gone.
        row.locator("a").click()
        expect(reader.locator("#messages[data-ready]")).to_be_attached()
        message = Message.objects.get(text__startswith="Собрание в четверг")
        shown = reader.locator(f"#m{message.pk} time")
        assert (shown.inner_text(), shown.get_attribute("title")) == live_time
        expect(reader.locator(".tab-bar .unread-total")).to_be_hidden()
        assert not reader.title().startswith("(")


def test_the_list_and_the_chat_show_one_local_time(family, browser, live_server):
    from playwright.sync_api import expect

    teacher, parent, parents, _ = family
    message = send_message(teacher, parents, "Доброе утро, " + "уважаемые родители, " * 10)
    # 18:30 UTC is 01:30 of the next day in Krasnoyarsk, the school's zone; the chat's
    # other messages go before it, so it is the one the list shows.
    Message.objects.filter(conversation=parents).exclude(pk=message.pk).update(
        written_at=datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
    )
    Message.objects.filter(pk=message.pk).update(
        written_at=datetime(2026, 3, 9, 18, 30, tzinfo=UTC)
    )
    page = signed_in_page(browser, live_server.url, parent)
    page.set_viewport_size(PHONE)
    page.goto("/messages/")
    listed = page.locator(f'#chats li[data-conversation="{parents.pk}"] time')
    expect(listed).to_have_attribute("title", "10.03.2026 01:30")
    # A long first line is cut with «…»: the row, its badge and its pin button stay on screen.
    for control in page.locator("#chats li .pin, #chats li a").all():
        box = control.bounding_box()
        assert box is not None and box["x"] + box["width"] <= PHONE["width"], box
    in_list = listed.inner_text()
    page.goto(f"/messages/{parents.pk}/")
    shown = page.locator(f"#m{message.pk} time")
    expect(shown).to_have_attribute("title", "10.03.2026 01:30")
    # «10 мар.» this year, «10 мар. 2026» later: the same words in both places.
    assert shown.inner_text() == in_list
    assert in_list.startswith("10 мар.")


def test_any_page_counts_live_and_reading_in_another_tab_clears_it(
    family, browser, tmp_path, monkeypatch
):
    from playwright.sync_api import expect

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    teacher, parent, parents, _ = family
    with uvicorn_servers(server_env(DEBUG="1"), tmp_path, count=1) as ports:
        server = f"http://127.0.0.1:{ports[0]}"
        # Two tabs of the parent: the help page (nothing live of its own) and the list.
        help_tab = signed_in_page(browser, server, parent)
        help_tab.set_viewport_size(PHONE)
        help_tab.goto("/help/")
        list_tab = signed_in_page(browser, server, parent)
        list_tab.set_viewport_size(PHONE)
        list_tab.goto("/messages/")
        expect(list_tab.locator("#chats[data-ready]")).to_be_attached()
        for tab in (help_tab, list_tab):
            _socket_ready(tab)
        bare_title = help_tab.title()

        writer = signed_in_page(browser, server, teacher)
        writer.goto(f"/messages/{parents.pk}/")
        for text in ("Первое", "Второе"):
            writer.fill("#text", text)
            writer.click("#composer button[type=submit]")
            expect(writer.locator("#composer .status")).to_have_text("", timeout=15_000)

        expect(help_tab).to_have_title(f"(2) {bare_title}", timeout=15_000)
        expect(help_tab.locator(".tab-bar .unread-total .count")).to_have_text("2")
        row = list_tab.locator(f'#chats li[data-conversation="{parents.pk}"]')
        expect(row.locator(".badge")).to_have_text("2", timeout=15_000)
        expect(row.locator(".what")).to_have_text("Второе")

        # A third tab reads the chat: the other two hear of it and count nothing.
        reading = signed_in_page(browser, server, parent)
        reading.goto(f"/messages/{parents.pk}/")
        expect(reading.locator("#messages[data-ready]")).to_be_attached()
        expect(row.locator(".badge")).to_be_hidden(timeout=15_000)
        expect(help_tab).to_have_title(bare_title, timeout=15_000)
        expect(help_tab.locator(".tab-bar .unread-total")).to_be_hidden()
        expect(list_tab.locator(".tab-bar .unread-total")).to_be_hidden()


def test_a_message_between_drawing_and_listening_is_counted(family, browser, tmp_path, monkeypatch):
    """The first page of a tab listens «from now on»: at its socket's ready it asks for the
    total again, so a message written while its scripts loaded is not lost."""
    from playwright.sync_api import expect

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    teacher, parent, parents, _ = family
    with uvicorn_servers(server_env(DEBUG="1"), tmp_path, count=1) as ports:
        server = f"http://127.0.0.1:{ports[0]}"
        page = signed_in_page(browser, server, parent)
        page.set_viewport_size(PHONE)
        written: list[Message] = []

        def write_first(route):
            # The page is drawn (no unread yet); its total's script is on its way.
            if not written:
                written.append(send_message(teacher, parents, "Пока страница грузилась"))
            route.continue_()

        page.route("**/static/messaging/unread.js", write_first)
        page.goto("/help/")
        expect(page).to_have_title("(1) Помощь — Парта", timeout=15_000)
        expect(page.locator(".tab-bar .unread-total .count")).to_have_text("1")
        assert written

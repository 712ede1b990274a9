"""A busy chat on a phone (390×844) and a laptop (1366×768): it opens at the newest
message, older ones load on scroll up without moving what is read, and a message is edited
in place with its line breaks kept."""

from datetime import timedelta

import pytest

from parta.messaging.models import Message
from parta.messaging.services import mark_read, send_message
from tests.browser.conftest import signed_in_page
from tests.factories import local

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("size", [(390, 844), (1366, 768)])
def test_a_busy_chat_opens_at_its_newest_message_and_loads_older_above(
    staff_chat, browser, live_server, size
):
    from playwright.sync_api import expect

    teacher, colleague, chat = staff_chat
    start = local("2026-11-16 08:00")
    for i in range(70):
        send_message(
            colleague if i % 2 else teacher, chat, f"Сообщение {i}", at=start + timedelta(minutes=i)
        )
    # Read up to the newest: with unread messages it would open at the first of them.
    mark_read(teacher, chat)
    page = signed_in_page(browser, live_server.url, teacher)
    page.set_viewport_size({"width": size[0], "height": size[1]})
    page.goto(f"/messages/{chat.pk}/")
    expect(page.locator("#messages[data-ready]")).to_be_attached()
    newest = page.locator(".msg", has=page.locator("p.text", has_text="Сообщение 69"))
    expect(newest).to_be_in_viewport()
    assert page.locator(".msg").count() == 50
    # Own messages on the right, others' on the left.
    mine = page.locator(".msg.mine").first.bounding_box()
    theirs = page.locator(".msg:not(.mine)").first.bounding_box()
    assert mine["x"] + mine["width"] > theirs["x"] + theirs["width"]

    reading = page.locator(".msg", has=page.locator("p.text", has_text="Сообщение 20"))
    reading.scroll_into_view_if_needed()  # the «older» link above it comes into view
    expect(page.locator(".msg")).to_have_count(70)
    expect(page.locator("#older")).to_have_count(0)
    expect(
        page.locator(".msg", has=page.locator("p.text", has_text="Сообщение 0"))
    ).to_be_attached()
    # What was at the top stays in view once the older messages are above it.
    expect(
        page.locator(".msg", has=page.locator("p.text", has_text="Сообщение 20"))
    ).to_be_in_viewport()

    own = page.locator(".msg.mine", has=page.locator("p.text", has_text="Сообщение 68"))
    own.scroll_into_view_if_needed()
    own.locator("summary").click()
    own.get_by_role("button", name="Изменить").click()
    own.locator(".editing textarea").fill("Сообщение 68\nвторая строка")
    own.get_by_role("button", name="Сохранить").click()
    expect(own.locator(".text")).to_contain_text("вторая строка")
    assert own.locator(".text").inner_html() == "Сообщение 68<br>вторая строка"
    expect(own.locator(".edited")).to_be_visible()
    assert (
        Message.objects.get(text__startswith="Сообщение 68").text == "Сообщение 68\nвторая строка"
    )

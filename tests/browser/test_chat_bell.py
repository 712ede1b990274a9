"""A chat on a phone (390×844): no bottom tab bar over the composer, a way back to the list
in the chat's header, the bell sets a mute without a reload and shows it, and a page left
open past midnight says «вчера» of what was «сегодня»."""

from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from parta.messaging.services import mark_read, send_message
from parta.notifications.models import ChatNotificationSettings
from tests.browser.conftest import signed_in_page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_on_a_phone_the_bell_mutes_the_chat_without_a_reload(staff_chat, browser, live_server):
    from playwright.sync_api import expect

    teacher, colleague, chat = staff_chat
    send_message(colleague, chat, "Совещание в пятницу")
    mark_read(teacher, chat)
    page = signed_in_page(browser, live_server.url, teacher)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"/messages/{chat.pk}/")
    expect(page.locator("#messages[data-ready]")).to_be_attached()

    # Nothing at the bottom but the composer, and the way back is in the chat's header.
    expect(page.locator(".tab-bar")).to_have_count(0)
    composer = page.locator("#composer").bounding_box()
    assert composer["y"] + composer["height"] <= 844
    back = page.locator(".chat-head").get_by_role("link", name="← Сообщения")
    expect(back).to_be_visible()
    head = page.locator(".chat-head").bounding_box()
    assert head["height"] < 90 and head["x"] + head["width"] <= 390

    bell = page.locator(".chat-bell")
    expect(bell).to_have_attribute("data-state", "on")
    page.evaluate("window.notReloaded = true")
    bell.locator("summary").click()
    menu = bell.locator(".bell-menu").bounding_box()
    assert menu["x"] >= 0 and menu["x"] + menu["width"] <= 390
    page.get_by_role("button", name="Без звука до утра (07:00)").click()
    bell = page.locator(".chat-bell[data-state=until]")
    expect(bell.locator(".bell-state")).to_contain_text("Без звука до")
    expect(bell.locator(".bell-state")).to_contain_text("07:00")
    assert page.evaluate("window.notReloaded") is True
    saved = ChatNotificationSettings.objects.get(person=teacher, conversation=chat)
    zone = chat.organization.region.zone
    assert saved.muted_until is not None
    assert saved.muted_until.astimezone(zone).strftime("%H:%M") == "07:00"
    assert saved.muted_until > timezone.now()

    bell.locator("summary").click()
    page.get_by_role("button", name="Включить").click()
    expect(page.locator(".chat-bell[data-state=on]")).to_be_attached()
    saved.refresh_from_db()
    assert (saved.muted, saved.muted_until) == (False, None)


def test_a_chat_left_open_past_midnight_says_yesterday(staff_chat, browser, live_server):
    from playwright.sync_api import expect

    teacher, colleague, chat = staff_chat
    message = send_message(colleague, chat, "Добрый вечер")
    page = signed_in_page(browser, live_server.url, teacher)
    page.set_viewport_size({"width": 390, "height": 844})
    page.clock.install()  # the browser's own time, from now on moved by the test
    page.goto(f"/messages/{chat.pk}/")
    label = page.locator(f"#m{message.pk} time")
    expect(label).to_have_text(
        message.written_at.astimezone(chat.organization.region.zone).strftime("сегодня %H:%M")
    )
    # To a minute past the next midnight in the school's zone.
    zone = chat.organization.region.zone
    now = timezone.now().astimezone(zone)
    midnight = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), zone)
    page.clock.fast_forward(int((midnight - now + timedelta(minutes=1)).total_seconds() * 1000))
    expect(label).to_have_text(message.written_at.astimezone(zone).strftime("вчера %H:%M"))

"""The chat page's bell: it shows the person's notifications of the chat as they stand,
and its form (posted without JavaScript, or by chat_bell.js for a redraw) sets them through
services.choose_chat_notifications; a bad choice or an outsider stores nothing."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from parta.messaging.models import Conversation
from parta.messaging.services import create_conversation
from parta.notifications.models import ChatNotificationSettings
from parta.notifications.selectors import chat_bell, next_morning
from parta.notifications.services import choose_chat_notifications
from parta.notifications.templatetags.notifications import bell_label
from tests.factories import client_for, local, make_member

pytestmark = pytest.mark.django_db


@pytest.fixture
def chat(school):
    teacher = make_member(school, "teacher", "Смирнова Елена Викторовна")
    parent = make_member(school, "parent", "Петрова Ольга Ивановна")
    conversation = create_conversation(teacher, school, title="Родители 5А", members=[parent])
    return parent, conversation


@pytest.fixture
def channel(school):
    admin = make_member(school, "admin", "Петров Олег Ильич")
    reader = make_member(school, "teacher", "Кузнецов Иван Сергеевич")
    news = create_conversation(
        admin, school, title="Новости школы", kind="channel", purpose="info", members=[reader]
    )
    return reader, news


def url(conversation: Conversation) -> str:
    return f"/notifications/conversations/{conversation.pk}/"


def test_the_chat_page_shows_the_bell_on_and_its_choices(chat):
    parent, conversation = chat
    html = client_for(parent).get(f"/messages/{conversation.pk}/").content.decode()
    assert 'class="chat-bell" data-state="on"' in html
    assert "Уведомления включены" in html and "Без звука до утра (07:00)" in html
    assert f'action="{url(conversation)}"' in html
    # «Only replies and announcements» is for channels.
    assert 'value="replies"' not in html
    # The chat page leaves out the bottom tab bar and keeps a way back to the list.
    assert 'class="tab-bar"' not in html
    assert 'class="back" href="/messages/"' in html


def test_posting_a_choice_sets_it_and_the_page_shows_it(chat):
    parent, conversation = chat
    client = client_for(parent)
    before = timezone.now()
    response = client.post(url(conversation), {"choice": "hour"})
    assert (response.status_code, response["Location"]) == (302, f"/messages/{conversation.pk}/")
    saved = ChatNotificationSettings.objects.get(person=parent, conversation=conversation)
    assert not saved.muted and not saved.replies_and_announcements_only
    assert saved.muted_until is not None
    assert before + timedelta(hours=1) <= saved.muted_until <= timezone.now() + timedelta(hours=1)
    assert 'data-state="until"' in client.get(f"/messages/{conversation.pk}/").content.decode()

    client.post(url(conversation), {"choice": "off"})
    saved.refresh_from_db()
    assert (saved.muted, saved.muted_until) == (True, None)
    html = client.get(f"/messages/{conversation.pk}/").content.decode()
    assert 'data-state="off"' in html and ">Без звука</span>" in html
    assert 'stroke-width="2.2"' in html  # the bell struck through

    client.post(url(conversation), {"choice": "on"})
    saved.refresh_from_db()
    assert (saved.muted, saved.muted_until, saved.replies_and_announcements_only) == (
        False,
        None,
        False,
    )


def test_the_script_gets_the_bell_redrawn(chat):
    parent, conversation = chat
    response = client_for(parent).post(
        url(conversation), {"choice": "off"}, headers={"X-Parta-Fragment": "1"}
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<details class="chat-bell" data-state="off">')
    assert "csrfmiddlewaretoken" in html and "<script" not in html


def test_a_channel_reader_chooses_only_replies_and_announcements(channel):
    reader, news = channel
    client = client_for(reader)
    assert 'value="replies"' in client.get(f"/messages/{news.pk}/").content.decode()
    assert client.post(url(news), {"choice": "replies"}).status_code == 302
    saved = ChatNotificationSettings.objects.get(person=reader, conversation=news)
    assert (saved.replies_and_announcements_only, saved.muted, saved.muted_until) == (
        True,
        False,
        None,
    )
    html = client.get(f"/messages/{news.pk}/").content.decode()
    assert 'data-state="replies"' in html and "Только ответы мне и объявления" in html


@pytest.mark.parametrize("choice", ["", "forever", "replies"])
def test_a_bad_choice_is_a_400_and_stores_nothing(chat, choice):
    parent, conversation = chat
    response = client_for(parent).post(url(conversation), {"choice": choice})
    assert response.status_code == 400
    assert "<h1>Неверный запрос</h1>" in response.content.decode()  # the site's 400 page
    in_the_bell = client_for(parent).post(
        url(conversation), {"choice": choice}, headers={"X-Parta-Fragment": "1"}
    )
    assert (in_the_bell.status_code, in_the_bell["Content-Type"]) == (
        400,
        "text/plain; charset=utf-8",
    )
    assert in_the_bell.content.decode() in {
        "Нет такой настройки уведомлений.",
        "Только ответы и объявления — настройка каналов.",
    }
    assert not ChatNotificationSettings.objects.exists()


def test_an_outsider_is_refused_and_nothing_is_stored(chat, other_school):
    _parent, conversation = chat
    outsider = client_for(make_member(other_school, "teacher", "Чужой Иван"))
    response = outsider.post(url(conversation), {"choice": "replies"})
    # The site's 403 page, not «this is no channel»: an outsider learns nothing of the chat.
    assert response.status_code == 403
    assert "Вы не участник этой беседы." in response.content.decode()
    assert (
        outsider.post("/notifications/conversations/999999/", {"choice": "off"}).status_code == 404
    )
    assert not ChatNotificationSettings.objects.exists()


def test_the_bell_takes_a_post_and_a_signed_in_person(chat):
    _parent, conversation = chat
    assert Client().post(url(conversation), {"choice": "off"}).status_code == 302  # sign in
    assert client_for(_parent).get(url(conversation)).status_code == 405
    assert not ChatNotificationSettings.objects.exists()


def test_until_the_morning_is_the_next_seven_oclock_in_the_schools_zone(chat):
    parent, conversation = chat
    evening, night = local("2026-12-02 20:30"), local("2026-12-03 02:10")
    assert next_morning(conversation, evening) == local("2026-12-03 07:00")
    assert next_morning(conversation, night) == local("2026-12-03 07:00")
    assert next_morning(conversation, local("2026-12-03 07:00")) == local("2026-12-04 07:00")
    choose_chat_notifications(parent, conversation, "morning", evening)
    bell = chat_bell(parent, conversation, evening)
    assert (bell.state, bell.until) == ("until", local("2026-12-03 07:00"))
    assert bell_label(bell, evening) == "Без звука до завтра 07:00"
    assert bell_label(bell, night) == "Без звука до 07:00"
    # Once the time has passed, the chat is heard again, as pushes_for has it.
    assert chat_bell(parent, conversation, local("2026-12-03 07:00")).state == "on"


def test_the_bell_reads_the_settings_in_one_query(chat, django_assert_num_queries):
    parent, conversation = chat
    choose_chat_notifications(parent, conversation, "eight_hours", local("2026-12-02 10:00"))
    with django_assert_num_queries(1):
        bell = chat_bell(parent, conversation, local("2026-12-02 10:00"))
    assert bell.until == local("2026-12-02 18:00")
    assert bell_label(bell, local("2026-12-02 10:00")) == "Без звука до 18:00"
    assert bell_label(bell, local("2026-11-30 10:00")) == "Без звука до 2 дек. 18:00"

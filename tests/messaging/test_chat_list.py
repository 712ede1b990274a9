"""The chat list (issue 14): each row's last message, its author and time; chats a person
pins to the top of their own list; the unread total of the menu and the tab title."""

import re
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from parta.messaging.models import Conversation, ConversationMember, Message
from parta.messaging.selectors import (
    PREVIEW_LENGTH,
    UnreadTotal,
    chat_list,
    preview_text,
    unread_total,
)
from parta.messaging.services import (
    MAX_PINNED_CHATS,
    create_conversation,
    delete_conversation,
    delete_message,
    mark_read,
    pin_conversation,
    remove_member,
    send_message,
    upload_attachment,
)
from parta.realtime.models import PersonEvent
from tests.factories import client_for, local
from tests.messaging.files import image_bytes

pytestmark = pytest.mark.django_db
API = "/api/messaging"


def chats(s, n: int) -> list[Conversation]:
    """`n` chats of the teacher with the colleague, the newest activity last."""
    made = []
    for i in range(n):
        chat = create_conversation(
            s.teacher, s.org, title=f"Чат {i}", members=[s.colleague], at=local("2026-11-02 08:00")
        )
        send_message(s.teacher, chat, f"Сообщение {i}", at=local("2026-11-02 09:00") + timedelta(i))
        made.append(chat)
    return made


def titles(person) -> list[str]:
    return [row.conversation.title for row in chat_list(person)]


# ---------------------------------------------------------------- the preview


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("Завтра экскурсия\nСбор в 8:00", "Завтра экскурсия"),
        ("\n\n   Собрание в пятницу  \nподробности", "Собрание в пятницу"),
        ("", ""),
        ("я" * 150, "я" * (PREVIEW_LENGTH - 1) + "…"),
    ],
)
def test_the_preview_is_the_first_line_trimmed(text, shown):
    assert preview_text(Message(text=text)) == shown


def test_a_deleted_message_has_no_preview():
    assert preview_text(Message(text="секрет", deleted_at=local("2026-11-02 09:00"))) == ""


def test_a_row_shows_the_last_message_its_author_and_unread(s):
    chat = create_conversation(s.teacher, s.org, title="Методобъединение", members=[s.colleague])
    send_message(s.colleague, chat, "Первое")
    last = send_message(s.colleague, chat, "Отчёт готов\nподробности ниже")
    [row] = chat_list(s.teacher)
    assert row.last_message is not None and row.last_message.author is not None
    assert (row.last_message, row.last_message.author.full_name) == (last, s.colleague.full_name)
    assert (row.preview, row.unread, row.member.person) == ("Отчёт готов", 2, s.teacher)
    html = client_for(s.teacher).get("/messages/").content.decode()
    assert (
        f'<span class="who" title="{s.colleague.full_name}">Кузнецов И. С.</span>: '
        '<span class="what">Отчёт готов</span>' in html
    )
    assert "подробности ниже" not in html
    assert f'data-last="{last.pk}" data-read="0"' in html


def test_a_deleted_last_message_shows_as_deleted_not_its_text(s):
    chat = create_conversation(s.teacher, s.org, title="Методобъединение", members=[s.colleague])
    message = send_message(s.colleague, chat, "Пароль от журнала: 1234")
    delete_message(message, by=s.colleague)
    html = client_for(s.teacher).get("/messages/").content.decode()
    assert '<span class="what deleted">Сообщение удалено</span>' in html
    assert "1234" not in html
    [item] = client_for(s.teacher).get(f"{API}/conversations").json()
    assert item["last_message"]["preview"] == "" and item["last_message"]["deleted"] is True
    assert item["unread"] == 0


def test_a_file_without_text_and_a_service_notice_are_worded(s):
    chat = create_conversation(s.teacher, s.org, title="Методобъединение", members=[s.colleague])
    picture = upload_attachment(s.colleague, chat, SimpleUploadedFile("a.png", image_bytes()))
    send_message(s.colleague, chat, "", attachments=[picture])
    html = client_for(s.teacher).get("/messages/").content.decode()
    assert '<span class="what">📎 Вложение</span>' in html
    remove_member(chat, s.colleague, by=s.colleague)  # «покидает беседу»
    html = client_for(s.teacher).get("/messages/").content.decode()
    assert '<span class="what">покидает беседу</span>' in html


def test_an_empty_chat_has_no_last_message(s):
    create_conversation(s.teacher, s.org, title="Пустой", members=[s.colleague])
    [row] = chat_list(s.colleague)
    assert (row.last_message, row.preview, row.unread) == (None, "", 0)
    html = client_for(s.colleague).get("/messages/").content.decode()
    assert 'data-last="0"' in html and '<span class="last" hidden>' in html


def test_only_ones_own_open_chats_are_listed(s):
    mine = create_conversation(s.teacher, s.org, title="Свой", members=[s.colleague])
    create_conversation(s.admin, s.org, title="Чужой", members=[s.staff])
    remove_member(mine, s.colleague, by=s.teacher)
    assert titles(s.teacher) == ["Свой"]
    assert titles(s.colleague) == []
    assert "Свой" not in client_for(s.colleague).get("/messages/").content.decode()


@pytest.mark.parametrize("n", [1, 6])
def test_the_rows_cost_two_queries_however_many_chats(s, n, django_assert_num_queries):
    chats(s, n)
    # The rows with their unread counts and last ids; the last messages with their authors.
    with django_assert_num_queries(2):
        rows = chat_list(s.colleague)
    assert [row.preview for row in rows] == [f"Сообщение {i}" for i in reversed(range(n))]


@pytest.mark.parametrize("n", [1, 6])
def test_the_list_page_costs_the_same_queries_however_many_chats(s, n, django_assert_num_queries):
    chats(s, n)
    client = client_for(s.colleague)
    client.get("/messages/")  # the session and the person are cached from now on
    # Session, person; the menu's four; the memberships, channels to join, the event
    # number; the rows and their last messages.
    with django_assert_num_queries(11):
        html = client.get("/messages/").content.decode()
    assert html.count('<li data-conversation="') == n


# ---------------------------------------------------------------- pins


def test_pinned_chats_come_first_latest_pinned_on_top_then_by_activity(s):
    first, _, third, _ = chats(s, 4)
    pin_conversation(s.colleague, first, True, at=local("2026-11-10 08:00"))
    pin_conversation(s.colleague, third, True, at=local("2026-11-10 09:00"))
    assert titles(s.colleague) == ["Чат 2", "Чат 0", "Чат 3", "Чат 1"]
    # A new message in a pinned chat keeps it where the pins put it.
    send_message(s.teacher, first, "снова", at=local("2026-11-20 08:00"))
    assert titles(s.colleague)[:2] == ["Чат 2", "Чат 0"]
    # Another's pins are theirs: the teacher's list is by activity only.
    assert titles(s.teacher) == ["Чат 0", "Чат 3", "Чат 2", "Чат 1"]
    pin_conversation(s.colleague, third, False)
    assert titles(s.colleague) == ["Чат 0", "Чат 3", "Чат 2", "Чат 1"]


def test_pinning_again_keeps_the_first_moment(s):
    [chat] = chats(s, 1)
    pin_conversation(s.colleague, chat, True, at=local("2026-11-10 08:00"))
    member = pin_conversation(s.colleague, chat, True, at=local("2026-11-11 08:00"))
    assert member.pinned_at == local("2026-11-10 08:00")


def test_at_most_ten_chats_are_pinned(s):
    made = chats(s, MAX_PINNED_CHATS + 1)
    for chat in made[:MAX_PINNED_CHATS]:
        pin_conversation(s.colleague, chat, True)
    with pytest.raises(ValidationError) as refused:
        pin_conversation(s.colleague, made[-1], True)
    assert refused.value.code == "too_many_pins"
    assert "не больше 10" in refused.value.messages[0]
    assert not ConversationMember.objects.get(person=s.colleague, conversation=made[-1]).pinned_at
    # Pinning one already pinned is not a new pin; unpinning one frees a place.
    pin_conversation(s.colleague, made[0], True)
    pin_conversation(s.colleague, made[0], False)
    assert pin_conversation(s.colleague, made[-1], True).pinned_at is not None


def test_only_a_member_pins(s):
    [chat] = chats(s, 1)
    with pytest.raises(PermissionDenied):
        pin_conversation(s.staff, chat, True)
    remove_member(chat, s.colleague, by=s.teacher)
    with pytest.raises(PermissionDenied):
        pin_conversation(s.colleague, chat, True)


def test_the_api_pins_and_unpins(s):
    [chat] = chats(s, 1)
    client = client_for(s.colleague)
    pinned = client.put(f"{API}/conversations/{chat.pk}/pin")
    assert pinned.status_code == 200
    assert pinned.json()["conversation_id"] == chat.pk and pinned.json()["pinned_at"]
    [item] = client.get(f"{API}/conversations").json()
    assert item["pinned_at"] == pinned.json()["pinned_at"]
    assert item["last_message"]["preview"] == "Сообщение 0"
    assert item["last_message"]["author"]["name"] == s.teacher.full_name
    unpinned = client.delete(f"{API}/conversations/{chat.pk}/pin")
    assert (unpinned.status_code, unpinned.json()["pinned_at"]) == (200, None)


def test_the_api_refuses_pins_of_others_chats_and_beyond_the_limit(s):
    made = chats(s, MAX_PINNED_CHATS + 1)
    outsider = client_for(s.staff)
    assert outsider.put(f"{API}/conversations/{made[0].pk}/pin").status_code == 404
    assert outsider.put(f"{API}/conversations/999999/pin").status_code == 404
    assert outsider.delete(f"{API}/conversations/{made[0].pk}/pin").status_code == 404
    # The school's admin moderates the chat but has no row of it to pin.
    assert client_for(s.admin).put(f"{API}/conversations/{made[0].pk}/pin").status_code == 404
    client = client_for(s.colleague)
    for chat in made[:MAX_PINNED_CHATS]:
        assert client.put(f"{API}/conversations/{chat.pk}/pin").status_code == 200
    refused = client.put(f"{API}/conversations/{made[-1].pk}/pin")
    assert refused.status_code == 400
    assert "не больше 10" in refused.json()["detail"]
    pinned = ConversationMember.objects.filter(person=s.colleague, pinned_at__isnull=False)
    assert pinned.count() == MAX_PINNED_CHATS
    assert Client().put(f"{API}/conversations/{made[0].pk}/pin").status_code == 401


def test_the_list_page_pins_without_javascript(s):
    first, second = chats(s, 2)
    client = client_for(s.colleague)
    html = client.get("/messages/").content.decode()
    assert f'formaction="/messages/{first.pk}/pin/" name="pinned" value="1"' in html
    response = client.post(f"/messages/{first.pk}/pin/", {"pinned": "1"})
    assert (response.status_code, response["Location"]) == (302, "/messages/")
    html = client.get("/messages/").content.decode()
    assert re.findall(r'<li data-conversation="(\d+)"', html) == [str(first.pk), str(second.pk)]
    assert f'formaction="/messages/{first.pk}/pin/" name="pinned" value="0"' in html
    client.post(f"/messages/{first.pk}/pin/", {"pinned": "0"})
    assert not ConversationMember.objects.get(person=s.colleague, conversation=first).pinned_at
    assert client.get(f"/messages/{first.pk}/pin/").status_code == 405
    outsider = client_for(s.staff)
    assert outsider.post(f"/messages/{first.pk}/pin/", {"pinned": "1"}).status_code == 404


def test_the_list_page_says_when_the_pins_are_full(s):
    made = chats(s, MAX_PINNED_CHATS + 1)
    for chat in made[:MAX_PINNED_CHATS]:
        pin_conversation(s.colleague, chat, True)
    client = client_for(s.colleague)
    page = client.post(f"/messages/{made[-1].pk}/pin/", {"pinned": "1"}, follow=True)
    assert "Закрепить можно не больше 10 бесед" in page.content.decode()


# ---------------------------------------------------------------- the unread total


def test_the_total_counts_what_the_rows_count(s):
    chat = create_conversation(s.teacher, s.org, title="Методобъединение", members=[s.colleague])
    other = create_conversation(s.teacher, s.org, title="Второй", members=[s.colleague])
    send_message(s.colleague, chat, "своё не в счёт")
    send_message(s.teacher, chat, "раз")
    gone = send_message(s.teacher, chat, "удалено")
    delete_message(gone, by=s.teacher)
    newest = send_message(s.teacher, other, "два")
    assert unread_total(s.colleague) == UnreadTotal(total=2, newest=newest.pk)
    assert unread_total(s.colleague).total == sum(row.unread for row in chat_list(s.colleague))
    mark_read(s.colleague, other)
    assert unread_total(s.colleague).total == 1
    assert unread_total(s.staff) == UnreadTotal(total=0, newest=0)


def test_the_total_is_one_query(s, django_assert_num_queries):
    chats(s, 3)
    with django_assert_num_queries(1):
        assert unread_total(s.colleague).total == 3


def test_the_api_gives_the_total(s):
    [chat] = chats(s, 1)
    body = client_for(s.colleague).get(f"{API}/unread").json()
    newest = Message.objects.filter(conversation=chat).latest("pk")
    assert body == {"total": 1, "newest": newest.pk}
    assert Client().get(f"{API}/unread").status_code == 401


def test_every_page_shows_the_total_in_the_menu_and_the_title(s):
    chats(s, 2)
    html = client_for(s.colleague).get("/help/").content.decode()
    assert re.search(r"<title>\(2\) ", html)
    badges = re.findall(r'<span class="unread-total"[^>]*><span class="count">(\d+)<', html)
    assert badges == ["2", "2"]  # the header and the phone's tab bar
    assert "/static/messaging/unread.js" in html
    quiet = client_for(s.teacher).get("/help/").content.decode()
    assert not re.search(r"<title>\(", quiet)
    assert re.search(r'<span class="unread-total"[^>]* hidden><span class="count">0<', quiet)


def test_opening_the_chat_lowers_the_total_on_that_page(s):
    [chat] = chats(s, 1)
    html = client_for(s.colleague).get(f"/messages/{chat.pk}/").content.decode()
    assert not re.search(r"<title>\(", html)


def test_a_live_message_tells_the_list_its_preview(s):
    [chat] = chats(s, 1)
    send_message(s.teacher, chat, "  Первая строка  \nвторая")
    event = PersonEvent.objects.filter(person=s.colleague, kind="message.created").latest("seq")
    assert event.payload["preview"] == "Первая строка"
    assert event.payload["message"]["text"] == "  Первая строка  \nвторая"


def test_the_list_speaks_english_when_chosen(s):
    [chat] = chats(s, 1)
    pin_conversation(s.colleague, chat, True)
    client = client_for(s.colleague)
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    html = client.get("/messages/").content.decode()
    assert "Pinned chats stay at the top of the list; you can pin up to 10." in html
    assert ">Unpin</button>" in html and 'title="Pinned"' in html
    assert '"attachment": "Attachment"' in html  # list.js's words


def test_a_deleted_chats_pin_takes_no_place(s):
    made = chats(s, MAX_PINNED_CHATS + 1)
    for chat in made[:MAX_PINNED_CHATS]:
        pin_conversation(s.colleague, chat, True)
    delete_conversation(made[0], by=s.teacher)
    assert pin_conversation(s.colleague, made[-1], True).pinned_at is not None


def test_the_list_names_an_author_short_with_the_full_name_on_hover(s):
    assert (s.colleague.short_name, s.students[0].short_name) == ("Кузнецов И. С.", "Соколов А.")
    chat = create_conversation(
        s.teacher, s.org, title="5А — чат класса", purpose="class", school_class=s.five_a
    )
    send_message(s.students[0], chat, "Здравствуйте")
    html = client_for(s.teacher).get("/messages/").content.decode()
    assert '<span class="who" title="Соколов Артём">Соколов А.</span>' in html

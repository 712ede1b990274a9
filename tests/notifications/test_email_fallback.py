"""The email fallback end to end: a teacher writes in a class's parents' chat, the message's
job (run inline) marks the chat's email as waiting for a parent who asked for emails and
has no pushes, and the scan every five minutes sends at most one email per chat per hour,
in Russian, with the school's local times, never when muted, read, off, or no longer a
member, held in quiet hours; a doubled or retried scan sends once."""

import threading
from collections.abc import Iterator
from datetime import datetime, time

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone, translation
from huey.contrib.djhuey import HUEY

from parta.accounts.services import enrol_student, link_parent, remove_from_organization
from parta.messaging.models import Conversation
from parta.messaging.services import create_conversation, mark_read, remove_member, send_message
from parta.notifications import jobs
from parta.notifications.models import ChatEmail, NotificationSettings
from parta.notifications.selectors import chat_emails_due, chat_summary
from parta.notifications.services import (
    _chat_email,
    _send_chat_email,
    save_chat_settings,
    save_settings,
    send_chat_emails,
    subscribe,
)
from tests.factories import local, make_class, make_member
from tests.notifications.test_push import Browser

pytestmark = pytest.mark.django_db

BASE = "http://127.0.0.1:8000"


@pytest.fixture(autouse=True)
def jobs_inline(settings) -> Iterator[None]:
    settings.PARTA_PUSH_ALLOWED_HOSTS = ["127.0.0.1"]
    settings.PARTA_BASE_URL = BASE
    HUEY.immediate = True
    yield
    HUEY.immediate = False


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch):
    """Sets the time everything reads (timezone.now); returns the setter."""

    def at(moment: datetime) -> datetime:
        monkeypatch.setattr(timezone, "now", lambda: moment)
        return moment

    return at


@pytest.fixture
def chat(school):
    """The parents' chat of 5А: the class teacher, and a parent with an email address who
    turned the fallback on (quiet hours as by default, 21:00–07:00)."""
    teacher = make_member(school, "teacher", "Смирнова Елена Викторовна")
    parent = make_member(school, "parent", "Петрова Ольга Ивановна")
    parent.email = "olga@example.ru"
    parent.save(update_fields=["email"])
    student = make_member(school, "student", "Петров Иван")
    klass = make_class(school, "5А", class_teacher=teacher)
    enrol_student(student, klass, at=local("2026-09-01 08:00"))
    link_parent(parent, student)
    conversation = create_conversation(
        teacher,
        school,
        title="Родители 5А",
        purpose=Conversation.Purpose.PARENTS,
        school_class=klass,
        at=local("2026-10-01 09:00"),
    )
    assert conversation.members.filter(person=parent).exists()
    save_settings(parent, True, time(21, 0), time(7, 0), email_fallback=True)
    return teacher, parent, conversation


def _send(author, conversation, text, capture, **kwargs):
    with capture(execute=True):
        return send_message(author, conversation, text, **kwargs)


def _scan(clock, moment: datetime) -> None:
    clock(moment)
    jobs.chat_emails()


def test_two_messages_within_the_hour_make_one_email_and_a_later_one_a_second(
    chat, clock, mailoutbox, django_capture_on_commit_callbacks
):
    teacher, parent, conversation = chat
    clock(local("2026-10-05 12:00"))
    first = _send(
        teacher, conversation, "Завтра собрание\nв 18:00", django_capture_on_commit_callbacks
    )
    clock(local("2026-10-05 12:04"))
    _send(teacher, conversation, "Возьмите сменку", django_capture_on_commit_callbacks)
    _scan(clock, local("2026-10-05 12:05"))
    assert mailoutbox == []  # unread for five minutes only: time to read it in Parta
    _scan(clock, local("2026-10-05 12:10"))
    _scan(clock, local("2026-10-05 12:15"))
    (mail,) = mailoutbox
    assert mail.to == ["olga@example.ru"]
    assert mail.subject == "Новых сообщений в «Родители 5А»: 2"
    link = f"{BASE}/messages/{conversation.pk}/#m{first.pk}"
    assert mail.body.strip().splitlines() == [
        "Здравствуйте, Петрова Ольга Ивановна!",
        "",
        "В беседе «Родители 5А» (МБОУ Мотыгинская СОШ №1) непрочитанных сообщений: 2.",
        "",
        "сегодня 12:00 · Смирнова Елена Викторовна: Завтра собрание",
        "сегодня 12:04 · Смирнова Елена Викторовна: Возьмите сменку",
        "",
        f"Открыть беседу в Парте: {link}",
        "",
        "Письмо пришло, потому что вы включили письма о непрочитанных сообщениях, а "
        "push-уведомлений у вас нет. Не чаще одного письма о беседе в час. Отключить: "
        f"{BASE}/notifications/settings/",
    ]
    html, mimetype = mail.alternatives[0]
    assert mimetype == "text/html" and f'href="{link}"' in html

    clock(local("2026-10-05 12:30"))
    third = _send(teacher, conversation, "И ещё: форма", django_capture_on_commit_callbacks)
    _scan(clock, local("2026-10-05 12:45"))
    _scan(clock, local("2026-10-05 13:05"))
    assert len(mailoutbox) == 1  # the hour since the first email has not passed
    _scan(clock, local("2026-10-05 13:10"))
    _scan(clock, local("2026-10-05 13:15"))
    assert len(mailoutbox) == 2
    second = mailoutbox[1]
    assert second.subject == "Новых сообщений в «Родители 5А»: 3"
    assert "сегодня 12:30 · Смирнова Елена Викторовна: И ещё: форма" in second.body
    assert f"#m{first.pk}" in second.body and f"#m{third.pk}" not in second.body
    assert ChatEmail.objects.get(person=parent).last_emailed_at == local("2026-10-05 13:10")


def test_one_message_reads_in_the_singular(
    chat, clock, mailoutbox, django_capture_on_commit_callbacks
):
    teacher, _parent, conversation = chat
    clock(local("2026-10-05 12:00"))
    _send(teacher, conversation, "Собрание перенесли", django_capture_on_commit_callbacks)
    _scan(clock, local("2026-10-06 09:00"))
    (mail,) = mailoutbox
    assert mail.subject == "Новое сообщение в «Родители 5А»"
    assert "(МБОУ Мотыгинская СОШ №1) одно непрочитанное сообщение." in mail.body
    assert "вчера 12:00 · Смирнова Елена Викторовна: Собрание перенесли" in mail.body


def test_the_email_s_words_are_in_the_english_catalogue_too(
    chat, clock, django_capture_on_commit_callbacks
):
    teacher, parent, conversation = chat
    clock(local("2026-10-05 12:00"))
    for text in ("Раз", "Два", "Три", "Четыре"):
        _send(teacher, conversation, text, django_capture_on_commit_callbacks)
    summary = chat_summary(parent, conversation.pk, clock(local("2026-10-05 12:30")))
    assert summary is not None and [m.text for m in summary.newest] == ["Два", "Три", "Четыре"]
    with translation.override("en"):
        mail = _chat_email(summary)
    assert mail.subject == "4 new messages in “Родители 5А”"
    assert "“Родители 5А” (МБОУ Мотыгинская СОШ №1) has 4 unread messages." in mail.body
    assert "today 12:00 · Смирнова Елена Викторовна: Два" in mail.body
    html, _type = mail.alternatives[0]
    assert "…and 1 more message." in mail.body and "Turn emails off" in str(html)


def test_a_muted_chat_sends_none(chat, clock, mailoutbox, django_capture_on_commit_callbacks):
    teacher, parent, conversation = chat

    def mute(muted: bool, until: datetime | None) -> None:
        save_chat_settings(
            parent,
            conversation,
            muted=muted,
            muted_until=until,
            replies_and_announcements_only=False,
            now=timezone.now(),
        )

    clock(local("2026-10-05 12:00"))
    mute(False, local("2026-10-05 14:00"))
    _send(teacher, conversation, "Пока вы отключили", django_capture_on_commit_callbacks)
    _scan(clock, local("2026-10-05 13:00"))
    assert mailoutbox == []
    # After the mute ends, what came during it does not count either.
    clock(local("2026-10-05 15:00"))
    _send(teacher, conversation, "Уже можно", django_capture_on_commit_callbacks)
    _scan(clock, local("2026-10-05 15:10"))
    (mail,) = mailoutbox
    assert mail.subject == "Новое сообщение в «Родители 5А»"
    assert "Уже можно" in mail.body and "Пока вы отключили" not in mail.body
    # Muted for good after a message, before its email: none.
    clock(local("2026-10-05 16:20"))
    _send(teacher, conversation, "Третье", django_capture_on_commit_callbacks)
    mute(True, None)
    _scan(clock, local("2026-10-05 17:00"))
    assert len(mailoutbox) == 1
    assert ChatEmail.objects.get(person=parent).pending_since is None


def test_only_replies_and_announcements_count_when_so_chosen(
    chat, clock, mailoutbox, django_capture_on_commit_callbacks
):
    teacher, parent, conversation = chat
    other = make_member(conversation.organization, "parent", "Сидорова Мария Павловна")
    conversation.members.create(person=other, joined_at=local("2026-10-01 09:00"))
    clock(local("2026-10-05 12:00"))
    save_chat_settings(
        parent,
        conversation,
        muted=False,
        muted_until=None,
        replies_and_announcements_only=True,
        now=timezone.now(),
    )
    _send(other, conversation, "Кто забирает детей?", django_capture_on_commit_callbacks)
    _scan(clock, local("2026-10-05 12:30"))
    assert mailoutbox == []  # another parent's message is neither
    clock(local("2026-10-05 12:40"))
    _send(teacher, conversation, "Объявление: экскурсия", django_capture_on_commit_callbacks)
    _scan(clock, local("2026-10-05 13:00"))
    (mail,) = mailoutbox
    assert mail.subject == "Новое сообщение в «Родители 5А»"
    assert "Объявление: экскурсия" in mail.body and "Кто забирает" not in mail.body


def test_none_after_reading_up_to_the_newest(
    chat, clock, mailoutbox, django_capture_on_commit_callbacks
):
    teacher, parent, conversation = chat
    clock(local("2026-10-05 12:00"))
    _send(teacher, conversation, "Прочитайте", django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        mark_read(parent, conversation)
    _scan(clock, local("2026-10-05 12:30"))
    assert mailoutbox == []
    row = ChatEmail.objects.get(person=parent)
    assert (row.pending_since, row.last_emailed_at) == (None, None)  # the claim given back


def test_none_when_the_fallback_is_off(chat, clock, mailoutbox, django_capture_on_commit_callbacks):
    teacher, parent, conversation = chat
    clock(local("2026-10-05 12:00"))
    _send(teacher, conversation, "Первое", django_capture_on_commit_callbacks)
    save_settings(parent, True, time(21, 0), time(7, 0), email_fallback=False)
    _send(teacher, conversation, "Второе", django_capture_on_commit_callbacks)
    _scan(clock, local("2026-10-05 13:00"))
    assert mailoutbox == []
    assert not ChatEmail.objects.filter(pending_since__isnull=False).exists()


def test_none_by_default(school, clock, mailoutbox, django_capture_on_commit_callbacks):
    teacher = make_member(school, "teacher")
    parent = make_member(school, "parent", "Петрова Ольга Ивановна")
    parent.email = "olga@example.ru"
    parent.save(update_fields=["email"])
    clock(local("2026-10-05 12:00"))
    conversation = create_conversation(teacher, school, title="Родители", members=[parent])
    _send(teacher, conversation, "Привет", django_capture_on_commit_callbacks)
    _scan(clock, local("2026-10-05 13:00"))
    assert mailoutbox == [] and not ChatEmail.objects.exists()


def test_none_to_a_removed_member_or_one_who_left_the_school(
    chat, clock, mailoutbox, django_capture_on_commit_callbacks
):
    teacher, parent, conversation = chat
    second = make_member(conversation.organization, "parent", "Сидорова Мария Павловна")
    second.email = "maria@example.ru"
    second.save(update_fields=["email"])
    conversation.members.create(person=second, joined_at=local("2026-10-01 09:00"))
    save_settings(second, True, time(21, 0), time(7, 0), email_fallback=True)
    clock(local("2026-10-05 12:00"))
    _send(teacher, conversation, "Всем", django_capture_on_commit_callbacks)
    assert ChatEmail.objects.filter(pending_since__isnull=False).count() == 2
    with django_capture_on_commit_callbacks(execute=True):
        remove_member(conversation, parent, by=teacher)
        remove_from_organization(second, conversation.organization, removed_by=None)
    _scan(clock, local("2026-10-05 13:00"))
    assert mailoutbox == []


def test_none_for_someone_whose_browser_takes_pushes(
    chat, clock, mailoutbox, django_capture_on_commit_callbacks
):
    teacher, parent, conversation = chat
    keys = Browser.new().keys()
    clock(local("2026-10-05 12:00"))
    subscribe(parent, "http://127.0.0.1:9/phone", keys["p256dh"], keys["auth"], "", timezone.now())
    _send(teacher, conversation, "Push", django_capture_on_commit_callbacks)
    _scan(clock, local("2026-10-05 13:00"))
    assert mailoutbox == [] and not ChatEmail.objects.exists()


def test_quiet_hours_hold_the_email_until_they_end(
    chat, clock, mailoutbox, django_capture_on_commit_callbacks
):
    teacher, _parent, conversation = chat
    clock(local("2026-10-05 22:00"))
    _send(teacher, conversation, "Поздно, простите", django_capture_on_commit_callbacks)
    for moment in ("2026-10-05 22:30", "2026-10-06 03:00", "2026-10-06 06:55"):
        _scan(clock, local(moment))
    assert mailoutbox == []
    _scan(clock, local("2026-10-06 07:00"))
    (mail,) = mailoutbox
    assert "вчера 22:00 · Смирнова Елена Викторовна: Поздно, простите" in mail.body


def test_a_scan_run_twice_or_by_two_workers_sends_once(
    chat, clock, mailoutbox, django_capture_on_commit_callbacks
):
    teacher, _parent, conversation = chat
    clock(local("2026-10-05 12:00"))
    message = _send(teacher, conversation, "Один раз", django_capture_on_commit_callbacks)
    moment = clock(local("2026-10-05 12:20"))
    # Two workers both read the row as due, then each claims it: one wins.
    (row,) = chat_emails_due(moment)
    (same,) = chat_emails_due(moment)
    assert _send_chat_email(row, moment) is True
    assert _send_chat_email(same, moment) is False
    jobs.chat_emails()  # a retry of the whole scan
    assert len(mailoutbox) == 1
    # The message's job retried marks nothing new: no second email after the hour.
    jobs.push_message(message.pk, [row.person_id])
    _scan(clock, local("2026-10-05 13:30"))
    assert len(mailoutbox) == 1


@pytest.mark.django_db(transaction=True)
def test_four_workers_scanning_at_once_send_one_email(
    chat, clock, mailoutbox, django_capture_on_commit_callbacks
):
    teacher, _parent, conversation = chat
    clock(local("2026-10-05 12:00"))
    _send(teacher, conversation, "Гонка", django_capture_on_commit_callbacks)
    moment = clock(local("2026-10-05 12:20"))
    workers = 4
    start = threading.Barrier(workers)
    sent: list[int] = []
    failures: list[BaseException] = []

    def worker() -> None:
        try:
            start.wait(10)
            sent.append(send_chat_emails(moment))
        except BaseException as error:  # reported below, the thread cannot raise
            failures.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert failures == []
    assert sorted(sent) == [0, 0, 0, 1]
    assert len(mailoutbox) == 1


def test_the_message_s_job_costs_one_query_when_nobody_takes_pushes_or_emails(
    school, django_assert_num_queries
):
    teacher = make_member(school, "teacher")
    parents = [make_member(school, "parent", f"Родитель{n} Анна") for n in range(5)]
    conversation = create_conversation(teacher, school, title="Родители", members=parents)
    message = send_message(teacher, conversation, "Завтра собрание")
    people = [parent.pk for parent in parents]
    with django_assert_num_queries(1):
        jobs.push_message.call_local(message.pk, people)
    parents[0].email = "anna@example.ru"
    parents[0].save(update_fields=["email"])
    save_settings(parents[0], True, time(21, 0), time(7, 0), email_fallback=True)
    jobs.push_message.call_local(message.pk, people)
    assert ChatEmail.objects.get().person == parents[0]


# --- the setting: the API and the page ------------------------------------------------


def _client(person) -> Client:
    client = Client(raise_request_exception=False)
    client.force_login(person)
    return client


URL = "/api/notifications/settings"
QUIET = {"quiet_hours": True, "quiet_from": "22:00", "quiet_until": "06:00"}


def test_the_api_turns_the_fallback_on_and_keeps_it_when_left_out(chat):
    _teacher, parent, _conversation = chat
    client = _client(parent)
    assert client.get(URL).json()["email_fallback_available"] is True
    response = client.put(URL, {**QUIET, "email_fallback": False}, content_type="application/json")
    assert response.json() == {**QUIET, "email_fallback": False, "email_fallback_available": True}
    client.put(URL, {**QUIET, "email_fallback": True}, content_type="application/json")
    response = client.put(URL, QUIET, content_type="application/json")
    assert response.status_code == 200 and response.json()["email_fallback"] is True


@pytest.mark.parametrize(
    ("body", "status"),
    [({"email_fallback": True}, 400), ({"email_fallback": "sometimes"}, 422)],
)
def test_the_api_refuses_bad_input_and_stores_nothing(school, body, status):
    teacher = make_member(school, "teacher")  # no email address
    response = _client(teacher).put(URL, {**QUIET, **body}, content_type="application/json")
    assert response.status_code == status, response.content
    if status == 400:
        assert response.json()["code"] == "no_email"
    assert not NotificationSettings.objects.filter(person=teacher).exists()


def test_the_page_offers_the_fallback_only_with_an_email_address(chat):
    _teacher, parent, conversation = chat
    client = _client(parent)
    page = client.get("/notifications/settings/").content.decode()
    assert 'name="email_fallback"' in page and "olga@example.ru" in page
    response = client.post(
        "/notifications/settings/", {"quiet_from": "21:00", "quiet_until": "07:00"}
    )
    assert response.status_code == 302
    assert NotificationSettings.objects.get(person=parent).email_fallback is False

    teacher = make_member(conversation.organization, "teacher", "Без Почты")
    client = _client(teacher)
    page = client.get("/notifications/settings/").content.decode()
    assert 'name="email_fallback"' not in page
    assert "в вашем профиле нет адреса эл. почты" in page
    client.post(
        "/notifications/settings/",
        {"quiet_from": "21:00", "quiet_until": "07:00", "email_fallback": "on"},
    )
    assert NotificationSettings.objects.get(person=teacher).email_fallback is False

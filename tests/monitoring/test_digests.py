"""Weekly digests: when they are due in each zone, what they say, to whom, and only once."""

from datetime import UTC, datetime
from smtplib import SMTPException
from zoneinfo import ZoneInfo

import pytest
from django.core.mail.backends.base import BaseEmailBackend
from django.core.management import call_command
from django.core.management.base import CommandError

from parta.accounts.services import revoke_role
from parta.messaging.models import Conversation, ConversationMember, Message
from parta.messaging.services import NOTICES_TITLE, send_message
from parta.monitoring import jobs
from parta.monitoring.checklist import activation_checklist
from parta.monitoring.digests import (
    build_digest,
    deliver_digest,
    digest_recipients,
    digest_week,
    due_digests,
    send_due_digests,
)
from parta.monitoring.engine import weekly_report
from parta.monitoring.models import DigestDelivery
from parta.monitoring.scopes import Scope
from parta.monitoring.weeks import Week
from parta.structure.models import Organization
from tests.factories import local, make_district, make_member, make_org, make_region
from tests.monitoring.builders import Example, build_example

W47 = Week(2026, 47)
MONDAY_MORNING = local("2026-11-23 08:00")  # Krasnoyarsk
BASE = "https://parta.example.ru"
SECRET = "Контрольная по алгебре переносится на пятницу"


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("moment", "zone", "expected"),
    [
        # Monday 07:30 in Kamchatka is Sunday evening in Moscow and Kaliningrad.
        ("2026-11-22 19:30", "Asia/Kamchatka", W47),
        ("2026-11-22 19:30", "Asia/Krasnoyarsk", None),  # Monday 02:30: too early
        ("2026-11-22 19:30", "Europe/Moscow", None),  # Sunday 22:30
        ("2026-11-22 19:30", "Europe/Kaliningrad", None),
        # Monday 08:00 in Krasnoyarsk is 04:00 in Moscow: before 07:00 there.
        ("2026-11-23 01:00", "Asia/Krasnoyarsk", W47),
        ("2026-11-23 01:00", "Europe/Moscow", None),
        ("2026-11-22 23:59", "Asia/Krasnoyarsk", None),  # Monday 06:59
        ("2026-11-23 00:00", "Asia/Krasnoyarsk", W47),  # Monday 07:00 sharp
        # Missed in the morning: caught up while Monday lasts, not after.
        ("2026-11-23 20:30", "Europe/Kaliningrad", W47),  # Monday 22:30
        ("2026-11-23 20:59", "Europe/Moscow", W47),  # Monday 23:59
        ("2026-11-23 21:00", "Europe/Moscow", None),  # Tuesday 00:00
        ("2026-11-23 20:30", "Asia/Kamchatka", None),  # Tuesday 08:30
        ("2026-11-25 01:00", "Asia/Krasnoyarsk", None),  # Wednesday
    ],
)
def test_digest_week_by_zone(moment: str, zone: str, expected: Week | None) -> None:
    assert digest_week(utc(moment), ZoneInfo(zone), 7) == expected


def test_digest_week_of_the_first_week_of_a_year() -> None:
    # Monday 2027-01-04 closes 2026-W53 (2026 has 53 ISO weeks).
    assert digest_week(local("2027-01-04 09:00"), ZoneInfo("Asia/Krasnoyarsk"), 7) == Week(2026, 53)


def _school_in(tz: str, name: str) -> Organization:
    region = make_region(f"Регион {tz}", tz)
    school = make_org(make_district(region, f"Район {tz}"), name)
    make_member(school, "admin", f"Админова {tz} Анна")
    return school


def test_due_digests_only_where_it_is_monday_morning(db) -> None:
    kamchatka = _school_in("Asia/Kamchatka", "СОШ Камчатка")
    krasnoyarsk = _school_in("Asia/Krasnoyarsk", "СОШ Красноярск")
    moscow = _school_in("Europe/Moscow", "СОШ Москва")
    _school_in("Europe/Kaliningrad", "СОШ Калининград")
    # No admin: nobody to send to. An authority: digests are for schools.
    make_org(kamchatka.district, "СОШ без администратора")
    authority = make_org(kamchatka.district, "УО", kind=Organization.Kind.AUTHORITY)
    make_member(authority, "admin", "Начальникова Ольга")

    def due(moment: str) -> list[tuple[str, Week]]:
        return sorted((d.organization.full_name, d.week) for d in due_digests(utc(moment)))

    assert due("2026-11-22 19:30") == [("СОШ Камчатка", W47)]
    assert due("2026-11-23 01:00") == [("СОШ Камчатка", W47), ("СОШ Красноярск", W47)]
    assert due("2026-11-23 20:30") == [("СОШ Калининград", W47), ("СОШ Москва", W47)]
    assert due("2026-11-21 10:00") == []  # Saturday everywhere

    # A school whose admins all have it is no longer due; a new admin makes it due again.
    (admin,) = digest_recipients(krasnoyarsk, utc("2026-11-23 01:00"))
    DigestDelivery.objects.create(
        organization=krasnoyarsk, recipient=admin, week="2026-W47", created_at=utc("2026-11-23")
    )
    assert due("2026-11-23 01:00") == [("СОШ Камчатка", W47)]
    make_member(krasnoyarsk, "admin", "Новикова Вера", since=utc("2026-11-23 00:30"))
    assert due("2026-11-23 01:00") == [("СОШ Камчатка", W47), ("СОШ Красноярск", W47)]
    assert moscow.pk not in {d.organization.pk for d in due_digests(utc("2026-11-23 01:00"))}


@pytest.fixture
def example(db, settings) -> Example:
    settings.PARTA_BASE_URL = BASE
    ex = build_example()
    ex.people["head"].email = "head@school.example.ru"
    ex.people["head"].save()
    ex.people["adm"].email = "adm@school.example.ru"
    ex.people["adm"].save()
    # A message of the week before, whose text must never reach a digest.
    chat = Conversation.objects.get(organization=ex.s1, title="5А — классный чат")
    send_message(ex.people["t1"], chat, SECRET, at=local("2026-11-12 10:00"))
    return ex


def test_digest_content_is_the_engine_and_the_checklist(example: Example) -> None:
    digest = build_digest(example.s1, W47, MONDAY_MORNING)
    scope = Scope("organization", organization=example.s1)
    (now_row,) = weekly_report(scope, W47).organizations
    (before_row,) = weekly_report(scope, W47.previous()).organizations
    by_key = {item.key: item for item in digest.indicators}
    for key, item in by_key.items():
        assert (item.value, item.previous) == (now_row[key], before_row[key])
    # The spec's worked example for 2026-W47, and the week before it.
    assert by_key["teachers"].value == 5
    assert by_key["teachers_3_messages"].value == 3
    assert by_key["teachers_3_messages"].pct == 60.0
    assert by_key["messages"].text == "1 → 23 (+22)"
    assert by_key["chats"].text == "1 → 2 (+1)"
    assert by_key["calls_held"].text == "0 → 4 (+4)"
    assert digest.active is True
    assert digest.was_active is True  # t1 wrote in W46
    assert digest.subject == "Парта: показатели СОШ №1 за неделю 2026-W47"

    open_steps = [s for s in activation_checklist(example.s1, MONDAY_MORNING) if not s.done]
    assert open_steps, "the example school has steps left"
    assert [s.key for s in digest.open_steps] == [s.key for s in open_steps]
    assert [s.url for s in digest.open_steps] == [BASE + s.url for s in open_steps]
    assert digest.dashboard_url == f"{BASE}/monitoring/organization/{example.s1.pk}/?week=2026-W47"


def test_recipients_are_the_current_admins_only(example: Example) -> None:
    gone = make_member(example.s1, "admin", "Бывшая Админ Ивановна")
    revoke_role(gone, example.s1, "admin", at=local("2026-11-20 00:00"))
    make_member(example.s2, "admin", "Чужой Админ Петрович")
    recipients = digest_recipients(example.s1, MONDAY_MORNING)
    assert {p.pk for p in recipients} == {example.people["head"].pk, example.people["adm"].pk}


def test_send_emails_and_posts_a_notice_not_counted(example: Example, mailoutbox) -> None:
    scope = Scope("organization", organization=example.s1)
    w48 = W47.next()
    before = weekly_report(scope, w48).organizations[0]

    run = send_due_digests(MONDAY_MORNING)

    assert (run.schools, run.sent, run.emailed, run.email_failures) == (1, 2, 2, 0)
    s1_mails = [m for m in mailoutbox if "СОШ №1" in m.subject]
    assert sorted(m.to[0] for m in s1_mails) == ["adm@school.example.ru", "head@school.example.ru"]
    mail = next(m for m in s1_mails if m.to == ["head@school.example.ru"])
    assert mail.subject == "Парта: показатели СОШ №1 за неделю 2026-W47"
    assert "Здравствуйте, Иванова Анна Петровна!" in mail.body
    assert "3. Учителей, написавших ≥ 3 сообщений за неделю: " in mail.body
    assert "Сообщений за неделю: 1 → 23 (+22)" in mail.body
    assert f"{BASE}/monitoring/organization/{example.s1.pk}/?week=2026-W47" in mail.body
    html, mime = mail.alternatives[0]
    assert mime == "text/html"
    assert '<html lang="ru">' in html
    assert "1 → 23 (+22)" in html
    for body in (mail.body, html):
        assert SECRET not in body
        assert "…" not in body  # the example's other messages

    # The Parta notice: a service message in the person's own channel, alone in it.
    delivery = DigestDelivery.objects.get(
        organization=example.s1, recipient=example.people["head"], week="2026-W47"
    )
    assert delivery.emailed_to == "head@school.example.ru"
    assert delivery.emailed_at == MONDAY_MORNING
    notice = delivery.message
    assert notice is not None
    assert notice.is_service
    assert notice.conversation.title == NOTICES_TITLE
    assert notice.conversation.kind == Conversation.Kind.CHANNEL
    assert list(
        ConversationMember.objects.filter(conversation=notice.conversation).values_list(
            "person_id", flat=True
        )
    ) == [example.people["head"].pk]
    assert "2026-W47" in notice.text
    assert "1 → 23 (+22)" not in notice.text  # the notice carries the letter's six indicators
    assert "3. Учителей, написавших ≥ 3 сообщений за неделю:" in notice.text
    assert "1. Активность ОО — да;" in notice.text
    assert SECRET not in notice.text

    # The notices add nothing to the school's numbers for the week they were written in.
    assert weekly_report(scope, w48).organizations[0] == before
    assert Message.objects.filter(conversation=notice.conversation).count() == 1


def test_running_twice_sends_once(example: Example, mailoutbox) -> None:
    first = send_due_digests(MONDAY_MORNING)
    sent = len(mailoutbox)
    again = send_due_digests(local("2026-11-23 15:00"))
    assert (first.sent, again.sent, again.schools) == (2, 0, 0)
    assert len(mailoutbox) == sent == 2
    # A second worker that raced past `due_digests` with the same digest sends nothing.
    digest = build_digest(example.s1, W47, MONDAY_MORNING)
    assert deliver_digest(digest, example.people["head"], MONDAY_MORNING) is None
    assert len(mailoutbox) == 2
    assert DigestDelivery.objects.filter(week="2026-W47").count() == 2
    assert Message.objects.filter(conversation__title=NOTICES_TITLE).count() == 2
    # Next Monday's digest goes into the same channel.
    send_due_digests(local("2026-11-30 09:00"))
    assert Conversation.objects.filter(title=NOTICES_TITLE).count() == 2
    assert Message.objects.filter(conversation__title=NOTICES_TITLE).count() == 4


class RefusingBackend(BaseEmailBackend):
    def send_messages(self, email_messages):
        raise SMTPException("relay refused")


def test_failed_email_is_recorded_and_not_retried(example: Example, settings) -> None:
    settings.EMAIL_BACKEND = "tests.monitoring.test_digests.RefusingBackend"
    run = send_due_digests(MONDAY_MORNING)
    assert (run.sent, run.emailed, run.email_failures) == (2, 0, 2)
    delivery = DigestDelivery.objects.get(recipient=example.people["adm"])
    assert delivery.email_error == "SMTPException: relay refused"
    assert delivery.emailed_at is None
    assert delivery.message is not None  # the notice in Parta went out all the same
    assert send_due_digests(MONDAY_MORNING).sent == 0


def test_no_email_address_gets_the_notice_only(example: Example, mailoutbox) -> None:
    example.people["adm"].email = ""
    example.people["adm"].save()
    send_due_digests(MONDAY_MORNING)
    assert [m.to for m in mailoutbox] == [["head@school.example.ru"]]
    delivery = DigestDelivery.objects.get(recipient=example.people["adm"])
    assert (delivery.emailed_to, delivery.emailed_at, delivery.message is not None) == (
        "",
        None,
        True,
    )


def test_dry_run_lists_and_sends_nothing(example: Example, mailoutbox, capsys) -> None:
    call_command("send_digests", "--now", "2026-11-23T08:00+07:00", "--dry-run")
    out = capsys.readouterr().out
    assert "2026-W47\tСОШ №1\tИванова Анна Петровна" in out
    assert "2026-W47\tСОШ №1\tПетров Олег Ильич" in out
    assert "Школ: 1, сводок к отправке: 2." in out  # s2 has no admin
    assert mailoutbox == []
    assert not DigestDelivery.objects.exists()

    call_command("send_digests", "--now", "2026-11-23T08:00+07:00")
    assert "отправлено сводок: 2" in capsys.readouterr().out
    assert len(mailoutbox) == 2


@pytest.mark.parametrize("bad", ["понедельник", "2026-11-23T08:00"])
def test_bad_now_is_refused(db, bad: str) -> None:
    with pytest.raises(CommandError):
        call_command("send_digests", "--now", bad)
    assert not DigestDelivery.objects.exists()


@pytest.fixture
def immediate_jobs():
    jobs.HUEY.immediate = True
    yield jobs.HUEY
    jobs.HUEY.immediate = False


def test_job_on_the_runner_sends_the_same_digests(
    example: Example, mailoutbox, immediate_jobs
) -> None:
    jobs.send_digests("2026-11-23T08:00+07:00")
    assert sorted(m.to[0] for m in mailoutbox) == [
        "adm@school.example.ru",
        "head@school.example.ru",
    ]
    assert DigestDelivery.objects.filter(week="2026-W47").count() == 2
    jobs.send_digests("2026-11-23T09:00+07:00")
    assert len(mailoutbox) == 2


def test_a_run_in_progress_elsewhere_is_not_doubled(
    example: Example, mailoutbox, immediate_jobs
) -> None:
    with immediate_jobs.lock_task(jobs.DIGESTS_LOCK):
        assert jobs.run_digests(MONDAY_MORNING) is None
    assert mailoutbox == []
    run = jobs.run_digests(MONDAY_MORNING)
    assert run is not None and run.sent == 2


def test_the_periodic_job_fires_hourly_at_minute_five() -> None:
    def fires(hour: int, minute: int) -> bool:
        due = jobs.HUEY.read_periodic(datetime(2026, 11, 23, hour, minute))
        return "monitoring.weekly_digests" in {task.name for task in due}

    assert all(fires(hour, 5) for hour in range(24))
    assert not any(fires(7, minute) for minute in (0, 4, 6, 35))

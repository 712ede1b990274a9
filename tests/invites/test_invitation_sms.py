"""Invitations by SMS: once a day each, only with a phone, a school's hourly limit, every
attempt logged without the code, a class's SMS on the job queue."""

import json
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils import timezone

from parta.accounts import sms
from parta.accounts.sms import SmsError
from parta.invites import jobs
from parta.invites.delivery import SmsReport, reissue_invitation, send_invitation_sms
from parta.invites.invitations import InvitationUnavailable, invitation_by_code, shown_code
from parta.invites.models import InvitationSms, PersonalInvitation
from tests.factories import client_for
from tests.invites.roster import Roster, issue_roster


@pytest.fixture
def roster(world) -> Roster:
    return issue_roster(world)


class FailingSmsBackend:
    def send(self, phone_e164: str, text: str) -> None:
        raise SmsError(f"SMS gateway answered HTTP 502 for {text}")


def test_the_text_carries_the_code_and_no_one_elses_data(roster):
    parent = roster.fresh("parent")
    report = send_invitation_sms([parent], by=roster.world.admin)
    assert report == SmsReport(sent=1)
    [message] = sms.outbox
    code = roster.codes()["parent"]
    assert message.phone == roster.world.parent.phone
    assert message.text == (
        f"Парта: приглашение в «СОШ №1» для Петрова О. И. Код {shown_code(code)}. "
        f"Войти: http://127.0.0.1:8000/p/#{code}"
    )
    # Not the child's name, nor anyone's phone but the recipient's own number.
    for other in (roster.world.student, roster.second_parent):
        assert other.surname + " " + other.name not in message.text
        assert other.phone not in message.text
    [logged] = InvitationSms.objects.all()
    assert (logged.invitation_id, logged.phone, logged.status, logged.error) == (
        parent.pk,
        roster.world.parent.phone,
        "sent",
        "",
    )
    assert logged.sent_by == roster.world.admin
    assert invitation_by_code(message.text.rsplit("#", 1)[1]).pk == parent.pk


def test_once_a_day_then_again(roster):
    invitation = roster.fresh("student")
    admin = roster.world.admin
    start = timezone.now()
    assert send_invitation_sms([invitation], by=admin, now=start).sent == 1
    later = send_invitation_sms([invitation], by=admin, now=start + timedelta(hours=23))
    assert later == SmsReport(skipped_today=1)
    assert len(sms.outbox) == 1
    next_day = send_invitation_sms(
        [invitation], by=admin, now=start + timedelta(hours=24, seconds=1)
    )
    assert next_day == SmsReport(sent=1)
    assert len(sms.outbox) == 2
    assert InvitationSms.objects.filter(invitation=invitation, status="sent").count() == 2


def test_no_phone_is_skipped_and_nothing_logged(roster):
    report = send_invitation_sms([roster.fresh("classmate")], by=roster.world.admin)
    assert report == SmsReport(skipped_no_phone=1)
    assert sms.outbox == []
    assert not InvitationSms.objects.exists()


def test_a_gateway_failure_is_logged_without_the_code_and_may_be_retried(roster, settings):
    settings.PARTA_SMS_BACKEND = "tests.invites.test_invitation_sms.FailingSmsBackend"
    invitation = roster.fresh("student")
    code = roster.codes()["student"]
    report = send_invitation_sms([invitation], by=roster.world.admin)
    assert report == SmsReport(failed=1)
    [logged] = InvitationSms.objects.all()
    assert logged.status == "failed"
    assert logged.error.startswith("SMS gateway answered HTTP 502 for ")
    assert code not in logged.error and shown_code(code) not in logged.error
    # A failure is no SMS sent: the same day it is tried again.
    settings.PARTA_SMS_BACKEND = "parta.accounts.sms.LocmemSmsBackend"
    assert send_invitation_sms([invitation], by=roster.world.admin).sent == 1


def test_the_hourly_limit_refuses_the_rest(roster, settings):
    settings.PARTA_INVITATION_SMS_PER_HOUR = 2
    keys = ("student", "parent", "second_parent", "pupil_6a")
    invitations = [roster.fresh(key) for key in keys]
    start = timezone.now()
    report = send_invitation_sms(invitations, by=roster.world.admin, now=start)
    assert (report.sent, report.skipped_limit) == (2, 2)
    assert 3500 <= (report.retry_after or 0) <= 3600
    assert len(sms.outbox) == 2 and InvitationSms.objects.count() == 2
    after = send_invitation_sms(invitations, by=roster.world.admin, now=start + timedelta(hours=1))
    assert (after.sent, after.skipped_today, after.skipped_limit) == (2, 2, 0)


def test_a_teacher_texts_her_class_only(roster):
    teacher = roster.world.teacher_5a
    assert send_invitation_sms([roster.fresh("parent")], by=teacher).sent == 1
    with pytest.raises(PermissionDenied):
        send_invitation_sms([roster.fresh("pupil_6a")], by=teacher)
    with pytest.raises(PermissionDenied):
        send_invitation_sms([roster.fresh("teacher")], by=teacher)
    assert len(sms.outbox) == 1


def test_a_used_or_revoked_invitation_is_not_texted(roster):
    used = roster.fresh("student")
    used.used_at = timezone.now()
    replaced = roster.fresh("parent")
    reissue_invitation(replaced, by=roster.world.admin)
    replaced.refresh_from_db()
    report = send_invitation_sms([used, replaced], by=roster.world.admin)
    assert report == SmsReport(skipped_closed=2)
    assert sms.outbox == []


def test_resend_one_from_the_page(roster):
    world = roster.world
    invitation = roster.fresh("parent")
    client = client_for(world.teacher_5a)
    url = reverse("invites:invitation-sms", args=[invitation.pk])
    page = reverse("invites:invitations-class", args=[world.org.pk, world.class_5a.pk])
    response = client.post(url, follow=True)
    assert response.redirect_chain == [(page, 302)]
    assert "СМС отправлено." in response.content.decode()
    assert len(sms.outbox) == 1
    again = client.post(url, follow=True).content.decode()
    assert "уже отправлено за последние сутки" in again
    assert len(sms.outbox) == 1
    assert client_for(world.teacher_6a).post(url).status_code == 403
    assert client_for(world.parent).post(url).status_code == 403
    assert client.post(reverse("invites:invitation-sms", args=[999999])).status_code == 404
    assert client.get(url).status_code == 405


def test_the_class_is_queued_and_the_job_sends_it(roster, monkeypatch):
    world = roster.world
    queued: list[tuple[list[int], int]] = []
    monkeypatch.setattr(
        "parta.invites.invitation_pages.send_invitations_sms",
        lambda ids, by_id: queued.append((ids, by_id)),
    )
    url = reverse("invites:invitations-class-sms", args=[world.org.pk, world.class_5a.pk])
    response = client_for(world.teacher_5a).post(url, follow=True)
    # Three with a phone in 5А (the student and both parents); Сидорова has none.
    assert "Отправляем 3 СМС" in response.content.decode()
    [(ids, by_id)] = queued
    assert sorted(ids) == sorted(
        roster.invitations[key].pk for key in ("student", "parent", "second_parent")
    )
    assert by_id == world.teacher_5a.pk
    assert sms.outbox == []
    jobs.send_invitations_sms.call_local(ids, by_id)
    assert sorted(message.phone for message in sms.outbox) == sorted(
        person.phone for person in (world.student, world.parent, roster.second_parent)
    )
    # Texted today: the button has no one left to text.
    monkeypatch.setattr("parta.invites.invitation_pages.send_invitations_sms", lambda *a: None)
    again = client_for(world.teacher_5a).post(url, follow=True).content.decode()
    assert "Отправлять некому" in again


def test_the_job_queues_what_the_limit_held_back(roster, settings, monkeypatch):
    settings.PARTA_INVITATION_SMS_PER_HOUR = 1
    scheduled = []
    monkeypatch.setattr(
        jobs.send_invitations_sms, "schedule", lambda **kwargs: scheduled.append(kwargs)
    )
    ids = [roster.invitations[key].pk for key in ("student", "parent")]
    jobs.send_invitations_sms.call_local(ids, roster.world.admin.pk)
    assert len(sms.outbox) == 1
    [again] = scheduled
    assert again["args"] == (ids, roster.world.admin.pk) and 3500 <= again["delay"] <= 3600


def test_api_texts_named_invitations_and_refuses_bad_input(roster):
    world = roster.world
    client = client_for(world.admin)
    url = f"/api/invites/organizations/{world.org.pk}/invitations/sms"

    def post(body):
        return client.post(url, json.dumps(body), content_type="application/json")

    ids = [roster.invitations[key].pk for key in ("student", "classmate")]
    answer = post({"invitation_ids": ids})
    assert answer.status_code == 200
    assert (answer.json()["sent"], answer.json()["skipped_no_phone"]) == (1, 1)
    assert post({}).status_code == 400
    assert post({"class_id": world.class_5a.pk, "invitation_ids": ids}).status_code == 400
    assert post({"invitation_ids": [999999]}).status_code == 404
    assert post({"invitation_ids": list(range(1, 102))}).status_code == 422
    assert post({"invitation_ids": ["x"]}).status_code == 422
    assert len(sms.outbox) == 1
    other = client_for(world.outsider).post(
        url, json.dumps({"invitation_ids": ids}), content_type="application/json"
    )
    assert other.status_code == 403


def test_reissue_stops_the_old_code(roster):
    world = roster.world
    old_code = roster.codes()["student"]
    client = client_for(world.teacher_5a)
    url = reverse("invites:invitation-reissue", args=[roster.invitations["student"].pk])
    response = client.post(url, follow=True)
    assert "Новый код выпущен" in response.content.decode()
    with pytest.raises(InvitationUnavailable):
        invitation_by_code(old_code)
    new = PersonalInvitation.objects.get(
        person=world.student, revoked_at__isnull=True, used_at__isnull=True
    )
    assert new.pk != roster.invitations["student"].pk and new.school_class == world.class_5a
    # The old one again: it is replaced already, nothing more is made.
    assert "уже заменено" in client.post(url, follow=True).content.decode()
    assert PersonalInvitation.objects.filter(person=world.student).count() == 2
    api = client.post(f"/api/invites/invitations/{new.pk}/reissue")
    assert api.status_code == 200 and api.json()["status"] == "invited"
    assert (
        client_for(world.teacher_6a).post(f"/api/invites/invitations/{new.pk}/reissue").status_code
        == 403
    )

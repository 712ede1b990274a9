"""The join page: a stranger opens a link, sees what it grants, signs up by phone, joins."""

import logging

import pytest
from django.urls import reverse
from django.utils import timezone

from parta.accounts.models import AuditEntry, Person, Role
from parta.accounts.selectors import holds_role
from parta.invites.models import JoinRequest
from tests.accounts.conftest import last_code
from tests.invites.conftest import make_link, token_on_page

PHONE = "+79135550011"


def _present(client, token):
    return client.post(reverse("invites:join"), {"token": token})


def test_link_page_shows_what_it_grants_before_sign_in(client, world):
    new = make_link(world, "student")
    response = _present(client, f"http://testserver{new.path}")
    assert response.status_code == 302
    page = client.get(reverse("invites:join")).content.decode()
    assert world.org.full_name in page
    assert "ученик" in page and "5А" in page
    assert reverse("invites:join-phone") in page
    assert new.token not in page


def test_new_person_joins_through_phone_sign_in(client, world):
    new = make_link(world, "student")
    _present(client, new.token)
    response = client.post(reverse("invites:join-phone"), {"phone": PHONE})
    assert response.status_code == 302
    from parta.accounts import sms

    code = last_code(sms.outbox, PHONE)
    no_name = client.post(reverse("invites:join-code"), {"code": code, "full_name": ""})
    assert "Вы впервые в Парте" in no_name.content.decode()
    assert not Person.objects.filter(phone=PHONE).exists()
    client.post(reverse("invites:join-code"), {"code": code, "full_name": "Зайцев Миша Игоревич"})
    person = Person.objects.get(phone=PHONE)
    assert person.full_name == "Зайцев Миша Игоревич"
    assert AuditEntry.objects.filter(action="person.created_on_invite", subject=person).exists()
    assert not holds_role(person, world.org, Role.STUDENT, timezone.now())  # not yet confirmed
    done = client.post(reverse("invites:join-accept"))
    assert done.status_code == 200
    assert "Вы присоединились" in done.content.decode()
    assert 'href="/messages/">К беседам</a>' in done.content.decode()  # the welcome waits there
    assert holds_role(person, world.org, Role.STUDENT, timezone.now())


def test_unknown_phone_without_an_invite_still_gets_no_account(client, world):
    from parta.accounts import sms
    from parta.accounts.signin import SignInError, request_code, verify_code

    request_code(PHONE, "203.0.113.1")
    with pytest.raises(SignInError) as caught:
        verify_code(PHONE, last_code(sms.outbox, PHONE), "203.0.113.1", full_name="Кто То Такой")
    assert caught.value.code == "no_account"
    assert not Person.objects.filter(phone=PHONE).exists()


def test_phone_step_without_a_presented_link_is_refused(client, world):
    response = client.post(reverse("invites:join-phone"), {"phone": PHONE})
    assert response.status_code == 404
    from parta.accounts import sms

    assert sms.outbox == []


def test_teacher_joins_pending_approval_then_sees_the_outcome(client, world, newcomer):
    new = make_link(world, "teacher")
    client.force_login(newcomer)
    _present(client, new.token)
    done = client.post(reverse("invites:join-accept"))
    assert "Заявка отправлена" in done.content.decode()
    join_request = JoinRequest.objects.get(person=newcomer)
    client.force_login(world.admin)
    queue = client.get(reverse("invites:requests", args=[world.org.pk])).content.decode()
    assert newcomer.full_name in queue
    client.post(reverse("invites:request-decide", args=[join_request.pk]), {"decision": "approve"})
    assert holds_role(newcomer, world.org, Role.TEACHER, timezone.now())
    client.force_login(newcomer)
    mine = client.get(reverse("invites:my-requests")).content.decode()
    assert "одобрена" in mine


def test_redeeming_is_rate_limited_per_ip(client, world, settings):
    settings.PARTA_INVITES_IP_LIMIT = 2
    new = make_link(world, "student")
    assert _present(client, "guess-1").status_code == 404
    assert _present(client, "guess-2").status_code == 404
    limited = _present(client, new.token)
    assert limited.status_code == 429
    assert "Слишком много попыток" in limited.content.decode()


def test_redeeming_is_rate_limited_per_person(client, world, settings, newcomer):
    settings.PARTA_INVITES_PERSON_LIMIT = 1
    client.force_login(newcomer)
    new = make_link(world, "student")
    assert _present(client, "guess").status_code == 404
    response = client.post(
        reverse("invites:join"), {"token": new.token}, REMOTE_ADDR="198.51.100.9"
    )
    assert response.status_code == 429


def test_tokens_never_reach_the_logs(client, world, newcomer, caplog):
    caplog.set_level(logging.DEBUG)
    client.force_login(world.admin)
    created = client.post(
        reverse("invites:link-create", args=[world.org.pk]),
        {"role": Role.STUDENT, "school_class": world.class_5a.pk, "expires_in_days": 7},
        follow=True,
    )
    assert created.status_code == 200
    assert created["Cache-Control"] == "no-store"
    page = created.content.decode()
    assert "Не размещайте ссылки-приглашения в открытом доступе!" in page
    assert "<svg" in page
    token = token_on_page(page)
    assert len(token) >= 43
    client.force_login(newcomer)
    _present(client, token)
    client.get(reverse("invites:join"))
    client.post(reverse("invites:join-accept"))
    _present(client, token + "x")  # an unknown token is not logged either
    assert holds_role(newcomer, world.org, Role.STUDENT, timezone.now())
    assert caplog.records, "the invite actions log something"
    for record in caplog.records:
        assert token not in record.getMessage()
        assert token[:20] not in str(record.args)
    assert not AuditEntry.objects.filter(details__icontains=token[:20]).exists()

import logging
import os
import subprocess
import sys
from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.core.cache import cache
from django.db import connection
from django.urls import reverse
from django.utils import timezone, translation

from parta.accounts import sms
from parta.accounts.models import AuditEntry, Person, Role, RoleGrant, SignInCode
from parta.accounts.selectors import holds_role
from parta.accounts.services import revoke_role
from parta.accounts.signin import SignInError, request_code, verify_code
from tests.accounts.conftest import last_code
from tests.factories import make_member, make_person

PHONE = "+79131234567"
IP = "203.0.113.7"


@pytest.fixture
def person(db):
    return make_person("Петрова Мария Ивановна", phone=PHONE)


def refused(call, *args, **kwargs) -> SignInError:
    with pytest.raises(SignInError) as caught:
        call(*args, **kwargs)
    return caught.value


# --- the services -------------------------------------------------------------------------


def test_code_is_sent_and_signs_the_person_in(person, sms_outbox):
    sent = request_code("8 (913) 123-45-67", IP)
    assert sent.phone == PHONE
    assert [message.phone for message in sms_outbox] == [PHONE]
    code = last_code(sms_outbox, PHONE)
    assert verify_code(PHONE, code, IP) == person
    sent.refresh_from_db()
    assert sent.used_at is not None
    assert AuditEntry.objects.filter(action="person.signed_in", subject=person).count() == 1


def test_used_code_does_not_work_twice(person, sms_outbox):
    request_code(PHONE, IP)
    code = last_code(sms_outbox, PHONE)
    verify_code(PHONE, code, IP)
    assert refused(verify_code, PHONE, code, IP).code == "no_code"


@pytest.mark.parametrize("phone", ["", "12345", "+7 000 000-00-00", "телефон"])
def test_invalid_phone_is_refused_and_nothing_is_stored(db, sms_outbox, phone):
    error = refused(request_code, phone, IP)
    assert error.code == "phone_invalid"
    assert error.message
    assert SignInCode.objects.count() == 0
    assert sms_outbox == []


def test_code_is_six_digits_and_stored_only_hashed(person, sms_outbox):
    request_code(PHONE, IP)
    code = last_code(sms_outbox, PHONE)
    assert len(code) == 6
    row = SignInCode.objects.get(phone=PHONE)
    assert code not in row.code_hash
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM accounts_signincode")
        for value in cursor.fetchall()[0]:
            assert code not in str(value)


def test_wrong_code_tells_attempts_left_and_five_wrong_burn_the_code(person, sms_outbox):
    request_code(PHONE, IP)
    code = last_code(sms_outbox, PHONE)
    wrong = "000000" if code != "000000" else "111111"
    for left in (4, 3, 2, 1):
        error = refused(verify_code, PHONE, wrong, IP)
        assert (error.code, error.attempts_left) == ("code_wrong", left)
        assert str(left) in error.message
    error = refused(verify_code, PHONE, wrong, IP)
    assert error.code == "too_many_attempts"
    assert "новый код" in error.message
    # Burnt: even the right code no longer works.
    assert refused(verify_code, PHONE, code, IP).code == "too_many_attempts"
    assert SignInCode.objects.get(phone=PHONE).attempts == 5


def test_expired_code_is_refused(person, sms_outbox):
    start = timezone.now()
    request_code(PHONE, IP, now=start)
    code = last_code(sms_outbox, PHONE)
    late = start + timedelta(minutes=5)
    error = refused(verify_code, PHONE, code, IP, now=late)
    assert error.code == "code_expired"
    assert "истёк" in error.message
    assert verify_code(PHONE, code, IP, now=late - timedelta(seconds=1)) == person


def wrong_for(code: str) -> str:
    return "000000" if code != "000000" else "111111"


def test_a_second_request_resends_the_same_code_with_its_expiry_and_tries(person, sms_outbox):
    start = timezone.now()
    first = request_code(PHONE, IP, now=start)
    code = last_code(sms_outbox, PHONE)
    for left in (4, 3):
        assert refused(verify_code, PHONE, wrong_for(code), IP).attempts_left == left

    again = request_code(PHONE, IP, now=start + timedelta(minutes=2))

    assert [message.phone for message in sms_outbox] == [PHONE, PHONE]
    assert last_code(sms_outbox, PHONE) == code
    assert (again.pk, again.expires_at) == (first.pk, start + timedelta(minutes=5))
    assert SignInCode.objects.get().attempts == 2
    # Asking again gave no extra tries: the third wrong one leaves two.
    assert refused(verify_code, PHONE, wrong_for(code), IP).attempts_left == 2
    assert verify_code(PHONE, code, IP) == person


def test_the_code_kept_for_resending_is_not_in_the_cache_in_the_clear(person, sms_outbox):
    sent = request_code(PHONE, IP)
    code = last_code(sms_outbox, PHONE)
    kept = cache.get(f"parta:signin:resend:{sent.pk}")
    assert isinstance(kept, int)
    assert kept != int(code)


def test_after_expiry_a_request_makes_a_new_code(person, sms_outbox):
    start = timezone.now()
    first = request_code(PHONE, IP, now=start)
    old = last_code(sms_outbox, PHONE)
    later = start + timedelta(minutes=5)
    new = request_code(PHONE, IP, now=later)
    assert new.pk != first.pk
    assert new.expires_at == later + timedelta(minutes=5)
    assert SignInCode.objects.filter(phone=PHONE).count() == 1
    code = last_code(sms_outbox, PHONE)
    if old != code:
        assert refused(verify_code, PHONE, old, IP, now=later).code == "code_wrong"
    assert verify_code(PHONE, code, IP, now=later) == person


def test_after_the_tries_are_spent_a_request_makes_a_new_code(person, sms_outbox):
    first = request_code(PHONE, IP)
    old = last_code(sms_outbox, PHONE)
    for _ in range(5):
        refused(verify_code, PHONE, wrong_for(old), IP)
    new = request_code(PHONE, IP)
    assert new.pk != first.pk
    assert SignInCode.objects.get(phone=PHONE).attempts == 0
    assert verify_code(PHONE, last_code(sms_outbox, PHONE), IP) == person


def test_a_cache_that_lost_the_code_means_a_new_one(person, sms_outbox):
    first = request_code(PHONE, IP)
    cache.delete(f"parta:signin:resend:{first.pk}")
    new = request_code(PHONE, IP)
    assert new.pk != first.pk
    assert verify_code(PHONE, last_code(sms_outbox, PHONE), IP) == person


def test_a_failed_resend_keeps_the_code(person, sms_outbox, monkeypatch):
    request_code(PHONE, IP)
    code = last_code(sms_outbox, PHONE)

    def broken(self, phone_e164, text):
        raise sms.SmsError("gateway down")

    monkeypatch.setattr(sms.LocmemSmsBackend, "send", broken)
    assert refused(request_code, PHONE, IP).code == "sms_failed"
    monkeypatch.undo()
    assert verify_code(PHONE, code, IP) == person


def test_no_code_requested(person):
    assert refused(verify_code, PHONE, "123456", IP).code == "no_code"


def test_rate_limit_per_phone(person, sms_outbox):
    start = timezone.now()
    for minute in range(3):
        request_code(PHONE, f"198.51.100.{minute}", now=start + timedelta(minutes=minute))
    error = refused(request_code, PHONE, "198.51.100.9", now=start + timedelta(minutes=4))
    assert error.code == "rate_limited"
    assert error.retry_after == 6 * 60
    assert "через 6 минут" in error.message
    assert len(sms_outbox) == 3
    # Another number is not affected, and the first one may ask again once the window moves.
    request_code("+79131234568", "198.51.100.9", now=start + timedelta(minutes=4))
    request_code(PHONE, "198.51.100.9", now=start + timedelta(minutes=10, seconds=1))
    assert len(sms_outbox) == 5


def test_rate_limit_per_ip(db, sms_outbox):
    start = timezone.now()
    for n in range(20):
        request_code(f"+7913555{n:04d}", IP, now=start)
    error = refused(request_code, "+79135559999", IP, now=start + timedelta(minutes=30))
    assert error.code == "rate_limited"
    assert error.retry_after == 30 * 60
    assert len(sms_outbox) == 20
    request_code("+79135559999", "203.0.113.8", now=start + timedelta(minutes=30))
    assert len(sms_outbox) == 21


def test_unknown_phone_has_no_account(db, sms_outbox):
    request_code(PHONE, IP)
    error = refused(verify_code, PHONE, last_code(sms_outbox, PHONE), IP)
    assert error.code == "no_account"
    assert "нет учётной записи" in error.message
    assert not Person.objects.filter(phone=PHONE).exists()


def test_inactive_person_is_refused(person, sms_outbox):
    person.is_active = False
    person.save()
    request_code(PHONE, IP)
    assert refused(verify_code, PHONE, last_code(sms_outbox, PHONE), IP).code == "account_disabled"


def test_sms_failure_is_reported_and_leaves_no_code(db, settings, monkeypatch):
    def broken(self, phone_e164, text):
        raise sms.SmsError("gateway down")

    monkeypatch.setattr(sms.LocmemSmsBackend, "send", broken)
    assert refused(request_code, PHONE, IP).code == "sms_failed"
    assert SignInCode.objects.count() == 0


def test_code_never_appears_in_logs(person, sms_outbox, caplog):
    caplog.set_level(logging.DEBUG)
    request_code(PHONE, IP)
    code = last_code(sms_outbox, PHONE)
    refused(verify_code, PHONE, "999999" if code != "999999" else "888888", IP)
    verify_code(PHONE, code, IP)
    assert caplog.records, "sign-in should log something"
    for record in caplog.records:
        assert code not in record.getMessage()
        assert PHONE not in record.getMessage()


# --- the application's administrator ----------------------------------------------------


def test_application_admin_gets_admin_role_once_and_it_is_logged(school, sms_outbox, caplog):
    school.admin_application_phone = PHONE
    school.save()
    admin = make_person("Кузнецова Ольга Сергеевна", phone=PHONE)
    caplog.set_level(logging.INFO, logger="parta.accounts")

    request_code(PHONE, IP)
    verify_code(PHONE, last_code(sms_outbox, PHONE), IP)
    assert holds_role(admin, school, Role.ADMIN, timezone.now())
    audit = AuditEntry.objects.get(action="role.admin_auto_granted")
    assert (audit.organization, audit.subject) == (school, admin)
    assert any("auto-granted" in record.getMessage() for record in caplog.records)

    request_code(PHONE, IP)
    verify_code(PHONE, last_code(sms_outbox, PHONE), IP)
    assert RoleGrant.objects.filter(person=admin, organization=school, role=Role.ADMIN).count() == 1
    assert AuditEntry.objects.filter(action="role.admin_auto_granted").count() == 1


def test_existing_admin_is_not_granted_again(school, sms_outbox):
    admin = make_member(school, Role.ADMIN, "Кузнецова Ольга Сергеевна")
    school.admin_application_phone = admin.phone
    school.save()
    assert admin.phone
    request_code(admin.phone, IP)
    verify_code(admin.phone, last_code(sms_outbox, admin.phone), IP)
    assert RoleGrant.objects.filter(person=admin, role=Role.ADMIN).count() == 1
    assert not AuditEntry.objects.filter(action="role.admin_auto_granted").exists()


def test_revoked_admin_is_not_restored_by_signing_in_again(school, sms_outbox):
    admin = make_member(school, Role.ADMIN, "Кузнецова Ольга Сергеевна")
    school.admin_application_phone = admin.phone
    school.save()
    revoke_role(admin, school, Role.ADMIN)
    assert admin.phone
    request_code(admin.phone, IP)
    verify_code(admin.phone, last_code(sms_outbox, admin.phone), IP)
    assert not holds_role(admin, school, Role.ADMIN, timezone.now())
    assert RoleGrant.objects.filter(person=admin, role=Role.ADMIN).count() == 1
    assert not AuditEntry.objects.filter(action="role.admin_auto_granted").exists()


def test_other_people_get_no_admin_role(school, person, sms_outbox):
    school.admin_application_phone = "+79139999999"
    school.save()
    request_code(PHONE, IP)
    verify_code(PHONE, last_code(sms_outbox, PHONE), IP)
    assert not RoleGrant.objects.filter(person=person).exists()


def test_unregistered_application_admin_gives_a_name_and_gets_an_account(school, sms_outbox):
    school.admin_application_phone = PHONE
    school.save()
    request_code(PHONE, IP)
    code = last_code(sms_outbox, PHONE)
    error = refused(verify_code, PHONE, code, IP)
    assert error.code == "name_required"
    assert not Person.objects.filter(phone=PHONE).exists()
    # The right code stays usable for the second try with the name.
    admin = verify_code(PHONE, code, IP, full_name="Кузнецова Ольга Сергеевна")
    assert (admin.surname, admin.name, admin.patronymic) == ("Кузнецова", "Ольга", "Сергеевна")
    assert admin.phone == PHONE
    assert not admin.has_usable_password()
    assert holds_role(admin, school, Role.ADMIN, timezone.now())


# --- pages --------------------------------------------------------------------------------


def test_sign_in_by_pages(client, person, sms_outbox):
    response = client.get(reverse("accounts:sign-in"))
    assert response.status_code == 200
    assert "Мобильный телефон" in response.content.decode()

    response = client.post(reverse("accounts:sign-in"), {"phone": "+7 913 123 45 67"})
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:sign-in-code")

    page = client.get(reverse("accounts:sign-in-code")).content.decode()
    assert PHONE in page
    assert last_code(sms_outbox, PHONE) not in page

    response = client.post(reverse("accounts:sign-in-code"), {"code": "000000"})
    if last_code(sms_outbox, PHONE) != "000000":
        assert "Неверный код. Осталось попыток: 4." in response.content.decode()

    response = client.post(reverse("accounts:sign-in-code"), {"code": last_code(sms_outbox, PHONE)})
    assert response.status_code == 302
    assert response["Location"] == reverse("web:home")
    assert client.session["_auth_user_id"] == str(person.pk)

    assert client.get(reverse("accounts:sign-out")).status_code == 405
    response = client.post(reverse("accounts:sign-out"))
    assert response.status_code == 302
    assert "_auth_user_id" not in client.session


def test_sign_in_page_shows_invalid_phone(client, db, sms_outbox):
    response = client.post(reverse("accounts:sign-in"), {"phone": "12"})
    assert response.status_code == 200
    assert "Такого номера телефона не бывает." in response.content.decode()
    assert sms_outbox == []
    assert SignInCode.objects.count() == 0


def test_sign_in_returns_to_next_page(client, person, sms_outbox):
    target = reverse("web:my-organizations")
    response = client.get(target)
    assert response.status_code == 302
    client.get(response["Location"])
    client.post(reverse("accounts:sign-in"), {"phone": PHONE})
    response = client.post(reverse("accounts:sign-in-code"), {"code": last_code(sms_outbox, PHONE)})
    assert response["Location"] == target


def test_sign_in_ignores_next_to_another_site(client, person, sms_outbox):
    client.get(reverse("accounts:sign-in") + "?next=https://evil.example/")
    client.post(reverse("accounts:sign-in"), {"phone": PHONE})
    response = client.post(reverse("accounts:sign-in-code"), {"code": last_code(sms_outbox, PHONE)})
    assert response["Location"] == reverse("web:home")


def test_code_page_without_phone_goes_back(client, db):
    response = client.get(reverse("accounts:sign-in-code"))
    assert response["Location"] == reverse("accounts:sign-in")


def test_sign_in_pages_check_csrf(db, sms_outbox):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    response = client.post(reverse("accounts:sign-in"), {"phone": PHONE})
    assert response.status_code == 403
    assert sms_outbox == []


def test_new_application_admin_is_asked_for_name_on_the_page(client, school, sms_outbox):
    school.admin_application_phone = PHONE
    school.save()
    client.post(reverse("accounts:sign-in"), {"phone": PHONE})
    code = last_code(sms_outbox, PHONE)
    page = client.post(reverse("accounts:sign-in-code"), {"code": code}).content.decode()
    assert "Укажите фамилию, имя и отчество" in page
    assert 'name="full_name"' in page
    response = client.post(
        reverse("accounts:sign-in-code"), {"code": code, "full_name": "Кузнецова Ольга"}
    )
    assert response.status_code == 302
    assert Person.objects.get(phone=PHONE).surname == "Кузнецова"


# --- API ----------------------------------------------------------------------------------


def test_sign_in_by_api(client, person, school, sms_outbox):
    make_member(school, Role.TEACHER, "Сидоров Пётр Ильич")
    grant = RoleGrant.objects.create(
        person=person, organization=school, role=Role.TEACHER, valid_from=timezone.now()
    )
    assert client.get("/api/accounts/me").status_code == 401

    response = client.post(
        "/api/accounts/sign-in/request-code",
        {"phone": "89131234567"},
        content_type="application/json",
    )
    assert response.status_code == 200
    assert response.json()["phone"] == PHONE
    assert "code" not in response.json()

    response = client.post(
        "/api/accounts/sign-in/verify",
        {"phone": PHONE, "code": last_code(sms_outbox, PHONE)},
        content_type="application/json",
    )
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == person.pk
    assert body["full_name"] == "Петрова Мария Ивановна"
    assert body["memberships"] == [
        {
            "organization": {
                "id": school.pk,
                "full_name": school.full_name,
                "short_name": "СОШ №1",
            },
            "roles": [grant.role],
        }
    ]
    assert client.get("/api/accounts/me").json()["id"] == person.pk


def test_api_errors(client, person, sms_outbox):
    response = client.post(
        "/api/accounts/sign-in/request-code", {"phone": "123"}, content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json()["code"] == "phone_invalid"

    client.post(
        "/api/accounts/sign-in/request-code", {"phone": PHONE}, content_type="application/json"
    )
    wrong = "000000" if last_code(sms_outbox, PHONE) != "000000" else "111111"
    response = client.post(
        "/api/accounts/sign-in/verify",
        {"phone": PHONE, "code": wrong},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert response.json()["code"] == "code_wrong"
    assert response.json()["attempts_left"] == 4
    assert client.get("/api/accounts/me").status_code == 401

    for _ in range(2):
        client.post(
            "/api/accounts/sign-in/request-code", {"phone": PHONE}, content_type="application/json"
        )
    response = client.post(
        "/api/accounts/sign-in/request-code", {"phone": PHONE}, content_type="application/json"
    )
    assert response.status_code == 429
    assert response.json()["code"] == "rate_limited"
    assert response.json()["retry_after"] > 0


def test_api_sign_in_needs_csrf_token(db, person, sms_outbox):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    response = client.post(
        "/api/accounts/sign-in/request-code", {"phone": PHONE}, content_type="application/json"
    )
    assert response.status_code == 403
    assert sms_outbox == []

    token = client.get("/api/accounts/sign-in/csrf").json()["csrf_token"]
    response = client.post(
        "/api/accounts/sign-in/request-code",
        {"phone": PHONE},
        content_type="application/json",
        headers={"X-CSRFToken": token},
    )
    assert response.status_code == 200
    assert len(sms_outbox) == 1


# --- countries ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "phone",
    [
        "+7 701 123-45-67",  # +7 is shared: this one is Kazakhstan's
        "+375 29 123-45-67",  # Belarus
        "+1 415 555-26-71",  # the USA
    ],
)
def test_a_number_abroad_gets_no_code_and_nothing_is_stored(person, sms_outbox, phone):
    error = refused(request_code, phone, IP)
    assert error.code == "country_not_allowed"
    assert error.message == "Коды входа отправляются только на номера этих стран: Россия."
    assert SignInCode.objects.count() == 0
    assert sms_outbox == []
    # Nor was the refused request counted against the sender's address.
    for n in range(20):
        request_code(f"+7913555{n:04d}", IP)


def test_more_countries_can_be_allowed(db, settings, sms_outbox):
    settings.PARTA_SIGNIN_COUNTRIES = ["RU", "KZ"]
    assert request_code("+77011234567", IP).phone == "+77011234567"
    assert [message.phone for message in sms_outbox] == ["+77011234567"]
    error = refused(request_code, "+375291234567", IP)
    assert error.message == (
        "Коды входа отправляются только на номера этих стран: Россия, Казахстан."
    )


def test_api_and_page_refuse_a_number_abroad_with_a_message(client, db, sms_outbox):
    response = client.post(
        "/api/accounts/sign-in/request-code",
        {"phone": "+77011234567"},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert response.json() == {
        "code": "country_not_allowed",
        "detail": "Коды входа отправляются только на номера этих стран: Россия.",
        "retry_after": None,
        "attempts_left": None,
    }
    page = client.post(reverse("accounts:sign-in"), {"phone": "+77011234567"})
    assert page.status_code == 200
    assert "только на номера этих стран: Россия." in page.content.decode()
    assert sms_outbox == []
    assert SignInCode.objects.count() == 0


def test_country_names_follow_the_language(db, settings, sms_outbox):
    settings.PARTA_SIGNIN_COUNTRIES = ["RU", "BY"]
    with translation.override("en"):
        error = refused(request_code, "+77011234567", IP)
    assert error.message == (
        "Sign-in codes are sent only to numbers of these countries: Russia, Belarus."
    )


# --- how long a sign-in lasts -------------------------------------------------------------


def test_session_age_comes_from_parta_session_age_and_is_14_days_by_default():
    script = "from django.conf import settings; print(settings.SESSION_COOKIE_AGE)"

    def age(**env):
        environment = {
            **{name: value for name, value in os.environ.items() if name != "PARTA_SESSION_AGE"},
            "DJANGO_SETTINGS_MODULE": "parta.settings",
            "PARTA_ALLOW_DEV_SECRET": "1",
            **env,
        }
        run = subprocess.run(  # noqa: S603 - our own interpreter and a fixed script
            [sys.executable, "-c", script], env=environment, capture_output=True, text=True
        )
        assert run.returncode == 0, run.stderr
        return int(run.stdout)

    assert age() == 14 * 24 * 60 * 60
    assert age(PARTA_SESSION_AGE="3600") == 3600


def test_a_sign_in_lasts_parta_session_age(client, person, sms_outbox, settings):
    settings.SESSION_COOKIE_AGE = 3 * 24 * 60 * 60
    client.post(reverse("accounts:sign-in"), {"phone": PHONE})
    response = client.post(reverse("accounts:sign-in-code"), {"code": last_code(sms_outbox, PHONE)})
    assert response.status_code == 302
    cookie = response.cookies[settings.SESSION_COOKIE_NAME]
    assert cookie["max-age"] == 3 * 24 * 60 * 60
    assert not client.session.get_expire_at_browser_close()


def test_on_a_shared_computer_the_session_ends_with_the_browser(client, person, sms_outbox):
    client.post(reverse("accounts:sign-in"), {"phone": PHONE})
    page = client.get(reverse("accounts:sign-in-code")).content.decode()
    assert "Чужой компьютер" in page
    assert 'type="checkbox" name="shared_computer"' in page

    response = client.post(
        reverse("accounts:sign-in-code"),
        {"code": last_code(sms_outbox, PHONE), "shared_computer": "on"},
    )
    assert response.status_code == 302
    cookie = response.cookies[django_settings.SESSION_COOKIE_NAME]
    assert cookie["max-age"] == ""
    assert cookie["expires"] == ""
    assert client.session.get_expire_at_browser_close()
    assert client.session["_auth_user_id"] == str(person.pk)


@pytest.mark.parametrize("shared_computer", [True, False])
def test_api_sign_in_on_a_shared_computer(client, person, sms_outbox, shared_computer):
    client.post(
        "/api/accounts/sign-in/request-code", {"phone": PHONE}, content_type="application/json"
    )
    response = client.post(
        "/api/accounts/sign-in/verify",
        {"phone": PHONE, "code": last_code(sms_outbox, PHONE), "shared_computer": shared_computer},
        content_type="application/json",
    )
    assert response.status_code == 200
    cookie = response.cookies[django_settings.SESSION_COOKIE_NAME]
    assert cookie["max-age"] == ("" if shared_computer else 14 * 24 * 60 * 60)
    assert client.session.get_expire_at_browser_close() is shared_computer


# --- waiting for the next code ------------------------------------------------------------


def test_the_page_counts_down_to_the_next_code(client, person, sms_outbox, monkeypatch):
    start = timezone.now()
    monkeypatch.setattr(timezone, "now", lambda: start)
    for _ in range(3):
        client.post(reverse("accounts:sign-in"), {"phone": PHONE})
    monkeypatch.setattr(timezone, "now", lambda: start + timedelta(seconds=25))

    response = client.post(reverse("accounts:sign-in"), {"phone": PHONE})

    assert response.status_code == 429
    assert response["Retry-After"] == "575"
    page = response.content.decode()
    assert "Слишком много запросов кода. Повторите через 10 минут." in page
    # Without JavaScript the wait is written out; countdown.js makes it tick.
    assert 'data-retry-after="575"' in page
    assert "Новый код можно будет запросить через <span data-countdown>9:35</span>." in page
    assert '<script type="module" src="/static/accounts/countdown.js"></script>' in page
    assert "<script>" not in page
    assert len(sms_outbox) == 3


def test_an_ordinary_sign_in_page_has_no_countdown(client, db):
    page = client.get(reverse("accounts:sign-in")).content.decode()
    assert "data-retry-after" not in page
    assert "countdown.js" not in page

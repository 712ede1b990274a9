import re

import pytest
from django.urls import reverse

from parta.accounts.models import AuditEntry, Role, RoleGrant
from parta.accounts.services import grant_role
from tests.factories import local, make_member, make_person


def html_lang(response) -> str:
    lang = re.search(r'<html lang="([a-z-]+)"', response.content.decode())
    assert lang, "no <html lang>"
    return lang.group(1)


def test_front_page_is_russian(client, db):
    response = client.get("/")
    assert response.status_code == 200
    page = response.content.decode()
    assert html_lang(response) == "ru"
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in page
    assert "Войти по номеру телефона" in page
    assert reverse("accounts:sign-in") in page


def test_english_switch(client, db):
    response = client.post(reverse("set_language"), {"language": "en", "next": "/"})
    assert response.status_code == 302
    response = client.get("/")
    page = response.content.decode()
    assert html_lang(response) == "en"
    assert "Sign in with your phone number" in page
    assert "Войти по номеру телефона" not in page

    client.post(reverse("set_language"), {"language": "ru", "next": "/"})
    assert html_lang(client.get("/")) == "ru"


def test_stylesheet_is_small(client, db):
    from django.contrib.staticfiles import finders

    path = finders.find("web/parta.css")
    assert path is not None
    with open(path, "rb") as css:
        assert len(css.read()) < 15 * 1024


def test_my_organizations_needs_sign_in(client, db):
    response = client.get(reverse("web:my-organizations"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:sign-in"))


def test_my_organizations_lists_current_roles_and_history(client, school, other_school):
    teacher = make_member(school, Role.TEACHER, "Смирнова Елена Викторовна")
    grant_role(
        teacher,
        other_school,
        Role.PARENT,
        valid_from=local("2026-09-01 00:00"),
        valid_to=local("2026-10-01 00:00"),
    )
    client.force_login(teacher)
    page = client.get(reverse("web:my-organizations")).content.decode()
    current = page.split("История ролей")[0]
    assert "МБОУ Мотыгинская СОШ №1" in current
    assert "учитель" in current
    assert "Раздольнинская" not in current
    history = page.split("История ролей")[1]
    assert "Раздольнинская СОШ" in history
    assert "родитель" in history
    # Krasnoyarsk midnight, not the UTC date (31.08).
    assert "01.09.2026" in history
    assert "01.10.2026" in history


# --- operator back office ---------------------------------------------------------------------


@pytest.fixture
def operator(db):
    person = make_person("Оператор Службы Поддержки", phone="+79130000001")
    person.is_staff = True
    person.is_superuser = True
    person.set_password("correct horse battery staple")
    person.save()
    return person


def test_operator_signs_in_to_admin_with_phone_and_password(client, operator):
    response = client.post(
        reverse("admin:login"),
        {"username": "+79130000001", "password": "correct horse battery staple", "next": "/admin/"},
    )
    assert response.status_code == 302
    assert client.get(reverse("admin:index")).status_code == 200


def test_admin_pages_load_for_an_operator(client, operator, school):
    teacher = make_member(school, Role.TEACHER)
    client.force_login(operator)
    for url in [
        reverse("admin:index"),
        reverse("admin:structure_region_changelist"),
        reverse("admin:structure_district_changelist"),
        reverse("admin:structure_organization_changelist"),
        reverse("admin:structure_organization_change", args=[school.pk]),
        reverse("admin:accounts_person_changelist") + "?q=%2B7913",
        reverse("admin:accounts_person_change", args=[teacher.pk]),
        reverse("admin:accounts_rolegrant_changelist"),
        reverse("admin:accounts_auditentry_changelist"),
    ]:
        assert client.get(url).status_code == 200, url


def test_role_history_is_read_only_in_admin(client, operator, school):
    teacher = make_member(school, Role.TEACHER)
    grant = RoleGrant.objects.get(person=teacher)
    client.force_login(operator)
    assert client.get(reverse("admin:accounts_rolegrant_add")).status_code == 403
    assert (
        client.get(reverse("admin:accounts_rolegrant_delete", args=[grant.pk])).status_code == 403
    )
    change_url = reverse("admin:accounts_rolegrant_change", args=[grant.pk])
    page = client.get(change_url).content.decode()
    assert 'name="role"' not in page
    assert client.post(change_url, {"role": Role.ADMIN}).status_code == 403
    grant.refresh_from_db()
    assert grant.role == Role.TEACHER
    assert client.get(reverse("admin:accounts_auditentry_add")).status_code == 403


def test_sign_in_codes_are_not_in_admin(client, operator):
    client.force_login(operator)
    page = client.get(reverse("admin:index")).content.decode()
    assert "signincode" not in page


def test_admin_adds_a_person_with_normalised_phone_and_no_password(client, operator):
    client.force_login(operator)
    response = client.post(
        reverse("admin:accounts_person_add"),
        {
            "phone": "8 913 765-43-21",
            "surname": "Новикова",
            "name": "Ирина",
            "patronymic": "",
            "email": "",
            "external_id": "",
            "is_active": "on",
            "role_grants-TOTAL_FORMS": "0",
            "role_grants-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    from parta.accounts.models import Person

    person = Person.objects.get(surname="Новикова")
    assert person.phone == "+79137654321"
    assert not person.has_usable_password()
    assert not AuditEntry.objects.filter(subject=person).exists()


def test_operator_signs_in_by_phone_and_reaches_the_back_office(client, operator, sms_outbox):
    from tests.accounts.conftest import last_code

    client.post(reverse("accounts:sign-in"), {"phone": operator.phone})
    client.post(reverse("accounts:sign-in-code"), {"code": last_code(sms_outbox, operator.phone)})
    assert client.get(reverse("admin:index")).status_code == 200
    assert reverse("admin:index") in client.get("/").content.decode()


def test_sign_in_errors_in_english(client, db):
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    page = client.post(reverse("accounts:sign-in"), {"phone": "12"}).content.decode()
    assert "No such phone number exists." in page

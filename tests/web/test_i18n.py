"""English as the second language: pages of every app switch to English through
/i18n/setlang/, Russian stays the default, and the catalogue is complete and compiled."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

from parta.accounts.models import Role
from tests.factories import make_member
from tests.web.test_pages import html_lang

CATALOGUE = Path(settings.LOCALE_PATHS[0]) / "en" / "LC_MESSAGES"
MSGFMT = shutil.which("msgfmt")
needs_msgfmt = pytest.mark.skipif(MSGFMT is None, reason="GNU gettext (msgfmt) is not installed")


def in_english(client):
    response = client.post(reverse("set_language"), {"language": "en", "next": "/"})
    assert response.status_code == 302


def english_page(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200
    assert html_lang(response) == "en"
    return response.content.decode()


def test_russian_is_the_default(client, db):
    response = client.get(reverse("support:help"))
    assert html_lang(response) == "ru"
    page = response.content.decode()
    assert "Как администратор получает права" in page
    assert "How an administrator gets their rights" not in page


def test_help_and_joining_pages_in_english(client, db):
    in_english(client)
    page = english_page(client, reverse("support:help"))
    assert "How an administrator gets their rights" in page
    assert "submit an administrator change request" in page
    assert "Как администратор получает права" not in page

    page = english_page(client, reverse("invites:join"))
    assert "Invitation to Parta" in page
    assert "Open the invitation" in page
    assert "Приглашение в Парту" not in page


def test_sign_in_page_and_its_errors_in_english(client, db):
    in_english(client)
    page = english_page(client, reverse("accounts:sign-in"))
    assert "Enter your mobile phone number and we will send you a code by SMS." in page
    response = client.post(reverse("accounts:sign-in"), {"phone": "12"})
    page = response.content.decode()
    assert "No such phone number exists." in page
    assert "Такого номера телефона не бывает." not in page


def test_messages_and_calls_in_english(client, school):
    teacher = make_member(school, Role.TEACHER)
    client.force_login(teacher)
    in_english(client)
    page = english_page(client, reverse("messaging:list"))
    assert "New chat or channel" in page
    assert "Новый чат или канал" not in page

    page = english_page(client, reverse("calls:mine"))
    assert "Start a call" in page
    assert "No calls yet." in page


def test_organization_management_in_english(client, school):
    admin = make_member(school, Role.ADMIN)
    client.force_login(admin)
    in_english(client)
    page = english_page(client, reverse("invites:manage"))
    assert "Managing organizations" in page
    assert "1. School profile" in page
    assert "3. Invite links" in page

    page = english_page(client, reverse("invites:links", args=[school.pk]))
    assert "Do not post invite links publicly!" in page
    assert "Make a link" in page
    assert "Ссылки-приглашения" not in page

    page = english_page(client, reverse("invites:member", args=[school.pk, admin.pk]))
    assert "Remove the role “administrator”" in page


def test_operator_dashboard_in_english(client, school):
    operator = make_member(school, Role.STAFF, "Оператор Платформы Тестовый")
    operator.is_staff = True
    operator.save()
    client.force_login(operator)
    in_english(client)
    page = english_page(client, "/monitoring/platform/all/")
    for text in (
        "<h1>The whole platform</h1>",
        "<h2>Trend over 12 weeks, % of teachers</h2>",
        "<h2>Districts</h2>",
        "<th>Organizations / active</th>",
        "Total: 1, 0 active",
        "Counting rules: a week runs from Monday 00:00",
        # Labels the view builds: the chart's series and the sortable columns.
        "created a chat",
        ">Active</a>",
        ">≥ 3 messages</a>",
    ):
        assert text in page, text
    assert "Динамика" not in page
    assert "создали чат" not in page


def test_school_dashboard_in_english(client, school):
    admin = make_member(school, Role.ADMIN)
    client.force_login(admin)
    in_english(client)
    page = english_page(client, f"/monitoring/organization/{school.pk}/")
    for text in (
        "<h2>Indicators of the week</h2>",
        "1. School activity",
        "6. Teachers who created ≥ 3 calls in the week",
        "Organization activation",
        "Classes created",
        "Create the classes first",
    ):
        assert text in page, text
    assert "Показатели недели" not in page


@needs_msgfmt
def test_catalogue_passes_msgfmt_check(tmp_path):
    compiled = tmp_path / "django.mo"
    assert MSGFMT  # needs_msgfmt skips without it
    result = subprocess.run(  # noqa: S603 - fixed arguments, our own catalogue
        [MSGFMT, "--check", "--statistics", "-o", str(compiled), str(CATALOGUE / "django.po")],
        capture_output=True,
        text=True,
        env={"LC_ALL": "C"},
    )
    assert result.returncode == 0, result.stderr
    # Nothing untranslated or fuzzy: the statistics name only translated messages.
    assert re.fullmatch(r"\d+ translated messages\.\n", result.stderr), result.stderr
    # The committed .mo is the one the .po compiles to.
    assert compiled.read_bytes() == (CATALOGUE / "django.mo").read_bytes()


def test_an_english_browser_still_gets_russian_until_english_is_chosen(client, db):
    page = client.get("/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    assert '<html lang="ru"' in page.content.decode()
    assert page["Content-Language"] == "ru"
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    page = client.get("/", HTTP_ACCEPT_LANGUAGE="ru-RU")
    assert '<html lang="en"' in page.content.decode()

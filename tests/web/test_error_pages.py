"""Refusals, missing pages and failures: the site's pages (web/error_pages.py), with the
refusal's own words on the 403 page; JSON under /api/. DEBUG is off, as in production."""

import pytest
from django.core.exceptions import PermissionDenied, SuspiciousOperation
from django.http import HttpRequest, HttpResponse
from django.test import Client
from django.urls import include, path, reverse

from parta.accounts.models import Role
from parta.urls import handler400, handler403, handler404, handler500  # noqa: F401 - this urlconf's too
from tests.factories import make_member
from tests.web.test_pages import html_lang

VIEWPORT = '<meta name="viewport" content="width=device-width, initial-scale=1">'


def _refuses_silently(request: HttpRequest) -> HttpResponse:
    raise PermissionDenied


def _breaks(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("the view broke")


def _refuses_in_api(request: HttpRequest) -> HttpResponse:
    raise PermissionDenied("Сюда нельзя.")


def _suspicious(request: HttpRequest) -> HttpResponse:
    raise SuspiciousOperation("session key 4f2a… tampered")


urlpatterns = [
    path("suspicious/", _suspicious),
    path("api/suspicious/", _suspicious),
    path("refuses/", _refuses_silently),
    path("broken/", _breaks),
    path("api/refuses/", _refuses_in_api),
    path("api/broken/", _breaks),
    path("", include("parta.urls")),
]


def in_the_layout(page: str) -> bool:
    return VIEWPORT in page and 'class="site-header"' in page and 'class="site-footer"' in page


def test_a_refusal_shows_its_own_words_in_the_site_s_layout(client, school):
    teacher = make_member(school, Role.TEACHER)
    client.force_login(teacher)
    response = client.get(reverse("structure:profile", args=[school.pk]))
    assert response.status_code == 403
    assert response["Content-Type"] == "text/html; charset=utf-8"
    page = response.content.decode()
    assert html_lang(response) == "ru"
    assert in_the_layout(page)
    assert "<h1>Нет доступа</h1>" in page
    assert f"Это может сделать только администратор организации «{school}»." in page
    # The signed-in person's menu, and a way back to their organizations.
    assert reverse("messaging:list") in page
    assert reverse("web:my-organizations") in page


def test_a_refusal_raised_in_a_view_with_its_words(client, school):
    """A view's own refusal (not a service's): raised, shown the same way."""
    parent = make_member(school, Role.PARENT)
    client.force_login(parent)
    response = client.get(reverse("support:desk"))
    assert response.status_code == 403
    page = response.content.decode()
    assert in_the_layout(page)
    assert "Это страница службы поддержки оператора." in page


def test_bad_parameters_show_what_is_wrong_in_the_site_s_layout(client, school):
    """The monitoring pages used to answer a bad week with bare text/plain."""
    client.force_login(make_member(school, Role.ADMIN))
    url = reverse("monitoring:dashboard", args=["organization", school.pk])
    response = client.get(url, {"week": "W47"})
    assert (response.status_code, response["Content-Type"]) == (400, "text/html; charset=utf-8")
    page = response.content.decode()
    assert in_the_layout(page)
    assert "<h1>Неверный запрос</h1>" in page
    assert "2026-W48" in page  # the week's expected form, from monitoring.weeks
    assert f'<a href="{url}">Открыть страницу без параметров</a>' in page


@pytest.mark.urls(__name__)
def test_a_suspicious_request_gets_the_400_page_without_its_words(client, db):
    page = client.get("/suspicious/")
    assert page.status_code == 400
    assert in_the_layout(page.content.decode())
    assert "Адрес страницы или её параметры не подходят." in page.content.decode()
    assert "tampered" not in page.content.decode()
    api = client.get("/api/suspicious/")
    assert api.json() == {"detail": "Неверный запрос", "code": "invalid"}


def test_the_refusal_page_in_english(client, school):
    client.force_login(make_member(school, Role.TEACHER))
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    page = client.get(reverse("structure:classes", args=[school.pk])).content.decode()
    assert "<h1>No access</h1>" in page
    assert "Нет доступа" not in page


@pytest.mark.urls(__name__)
def test_a_refusal_without_words_says_the_page_is_closed(client, db):
    response = client.get("/refuses/")
    assert response.status_code == 403
    page = response.content.decode()
    assert in_the_layout(page)
    assert "Эта страница вам недоступна." in page
    # Anonymous: the menu offers signing in, not someone's organizations.
    assert reverse("accounts:sign-in") in page
    assert reverse("web:my-organizations") not in page


def test_a_missing_page_uses_the_site_s_template(client, db):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    page = response.content.decode()
    assert html_lang(response) == "ru"
    assert in_the_layout(page)
    assert "<h1>Страница не найдена</h1>" in page
    assert reverse("web:home") in page


def test_a_missing_object_gets_the_same_page_without_its_words(client, school):
    """Http404 from a view: the page does not repeat what the view knew."""
    client.force_login(make_member(school, Role.TEACHER))
    response = client.get(reverse("messaging:conversation", args=[999_999]))
    assert response.status_code == 404
    page = response.content.decode()
    assert "<h1>Страница не найдена</h1>" in page
    assert "No Conversation matches" not in page


@pytest.mark.urls(__name__)
def test_a_failure_renders_the_server_error_page_without_the_database(settings):
    # No db fixture: a query while answering (the session behind this cookie, the menu's
    # person) would fail the request instead.
    client = Client(raise_request_exception=False)
    client.cookies[settings.SESSION_COOKIE_NAME] = "a-session-the-database-would-hold"
    response = client.get("/broken/")
    assert response.status_code == 500
    page = response.content.decode()
    assert html_lang(response) == "ru"
    assert VIEWPORT in page
    assert "<h1>Ошибка на сервере</h1>" in page
    assert reverse("support:help") in page
    assert "the view broke" not in page

    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    response = client.get("/broken/")
    assert (response.status_code, html_lang(response)) == (500, "en")
    assert "<h1>Server error</h1>" in response.content.decode()


@pytest.mark.urls(__name__)
def test_the_api_answers_its_errors_in_json(client, db):
    missing = client.get("/api/no-such-endpoint/")
    assert (missing.status_code, missing["Content-Type"]) == (404, "application/json")
    assert missing.json() == {"detail": "Не найдено", "code": "not_found"}

    refused = client.get("/api/refuses/")
    assert (refused.status_code, refused["Content-Type"]) == (403, "application/json")
    assert refused.json() == {"detail": "Сюда нельзя.", "code": "forbidden"}

    broken = Client(raise_request_exception=False).get("/api/broken/")
    assert (broken.status_code, broken["Content-Type"]) == (500, "application/json")
    assert broken.json() == {"detail": "Ошибка на сервере", "code": "error"}


def test_an_api_refusal_stays_the_api_s_json(client, school):
    client.force_login(make_member(school, Role.TEACHER))
    response = client.get(f"/api/structure/organizations/{school.pk}/classes")
    assert response.status_code == 403
    assert response["Content-Type"] == "application/json; charset=utf-8"
    assert "администратор" in response.json()["detail"]

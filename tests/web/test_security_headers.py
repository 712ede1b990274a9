"""Production headers: a strict Content-Security-Policy on every page, templates with no
inline script for it to refuse, and the API docs served without any CDN."""

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.test import Client
from django.urls import include, path, reverse

from parta.messaging.models import Conversation
from parta.messaging.services import create_conversation
from tests.factories import make_member

pytestmark = pytest.mark.django_db

SRC = Path(__file__).resolve().parents[2] / "src" / "parta"


def _broken(request):
    raise RuntimeError("a bug")


# Parta's URLs and one view that fails, for the 500 page.
urlpatterns = [path("broken/", _broken), path("", include("parta.urls"))]


def policy(response) -> dict[str, list[str]]:
    header = response.headers["Content-Security-Policy"]
    directives = (part.split() for part in header.split(";") if part.strip())
    return {name: values for name, *values in directives}


class Tags(HTMLParser):
    """Every <script>'s attributes, every inline event handler and every URL a page loads."""

    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[dict[str, str | None]] = []
        self.handlers: list[str] = []
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        if tag == "script":
            self.scripts.append(named)
        self.handlers += [name for name in named if name.startswith("on")]
        if tag in {"script", "img", "link", "iframe"}:
            self.urls += [value for name, value in attrs if name in {"src", "href"} and value]


def tags(html: str) -> Tags:
    parser = Tags()
    parser.feed(html)
    return parser


def runs_nothing_inline(page: Tags) -> bool:
    return not page.handlers and all(
        script.get("src") or script.get("type") == "application/json" for script in page.scripts
    )


def test_every_page_gets_the_policy_signed_in_or_not_and_errors_too(client, school):
    teacher = make_member(school, "teacher", "Смирнова Елена Викторовна")
    chat = create_conversation(
        teacher, school, title="Методическое объединение", purpose=Conversation.Purpose.STAFF
    )
    anonymous = [client.get("/"), client.get(reverse("accounts:sign-in")), client.get("/nope/")]
    client.force_login(teacher)
    chat_page = client.get(reverse("messaging:conversation", args=[chat.pk]))
    api = client.get("/api/messaging/conversations")
    assert [r.status_code for r in [*anonymous, chat_page]] == [200, 200, 404, 200]
    for response in [*anonymous, chat_page, api]:
        csp = policy(response)
        assert csp["script-src"] == ["'self'"]
        assert csp["default-src"] == ["'self'"]
        assert csp["style-src"] == ["'self'", "'unsafe-inline'"]
        assert csp["frame-ancestors"] == ["'none'"]
        assert csp["object-src"] == ["'none'"]
        assert csp["base-uri"] == csp["form-action"] == ["'self'"]
        assert csp["img-src"] == ["'self'", "data:", "blob:"]
        assert csp["media-src"] == ["'self'", "blob:"]
        # The page's own socket: CSP 3 counts it as 'self', older Safari does not.
        assert csp["connect-src"] == ["'self'", "ws://testserver"]


@pytest.mark.urls(__name__)
def test_the_server_error_page_gets_the_policy_too(db):
    response = Client(raise_request_exception=False).get("/broken/")
    assert response.status_code == 500
    assert policy(response)["script-src"] == ["'self'"]
    assert policy(response)["frame-ancestors"] == ["'none'"]


def test_the_socket_origin_follows_https_behind_the_proxy(client, db):
    # As nginx passes them: Host without a port, X-Forwarded-Proto set to its own scheme.
    response = client.get("/", headers={"host": "testserver", "x-forwarded-proto": "https"})
    assert policy(response)["connect-src"] == ["'self'", "wss://testserver"]


def test_the_chat_page_starts_its_scripts_from_files_with_data_attributes(client, school):
    teacher = make_member(school, "teacher", "Смирнова Елена Викторовна")
    chat = create_conversation(
        teacher, school, title="Методическое объединение", purpose=Conversation.Purpose.STAFF
    )
    client.force_login(teacher)
    html = client.get(reverse("messaging:conversation", args=[chat.pk])).content.decode()
    page = tags(html)
    assert runs_nothing_inline(page)
    assert {s["src"] for s in page.scripts if s.get("src")} == {
        "/static/calls/panel.js",
        "/static/messaging/chat.js",
        "/static/messaging/unread.js",
        "/static/notifications/push.js",
        "/static/notifications/chat_bell.js",
    }
    # The event number the page was rendered at, for events.js's catch-up.
    assert re.search(r'id="messages"[^>]* data-events-after="\d+"', html)


@pytest.mark.parametrize(
    "template", sorted(str(p.relative_to(SRC)) for p in SRC.glob("*/templates/**/*.html"))
)
def test_no_template_holds_a_script_the_policy_would_refuse(template):
    assert runs_nothing_inline(tags((SRC / template).read_text()))


def test_api_docs_load_only_parta_s_own_static_files(client, db):
    response = client.get("/api/docs")
    assert response.status_code == 200
    page = tags(response.content.decode())
    assert runs_nothing_inline(page)
    assert page.urls  # the Swagger bundle, its init script, its stylesheet
    assert all(url.startswith("/static/ninja/") for url in page.urls), page.urls
    assert b"//cdn" not in response.content
    assert policy(response)["script-src"] == ["'self'"]

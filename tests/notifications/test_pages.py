"""The PWA shell: manifest, service worker at the root, offline page, settings page."""

import json
import re

import pytest
from django.test import Client

from parta.notifications import shell
from parta.notifications.models import NotificationSettings
from tests.factories import make_member

pytestmark = pytest.mark.django_db


def test_the_manifest_names_the_app_in_russian_and_is_standalone(client: Client):
    response = client.get("/manifest.webmanifest")
    assert response["Content-Type"] == "application/manifest+json"
    data = response.json()
    assert data["name"] == "Парта"
    assert data["display"] == "standalone"
    assert {icon["sizes"] for icon in data["icons"]} == {"192x192", "512x512"}


def test_the_service_worker_is_served_from_the_root_with_the_shell(client: Client):
    response = client.get("/sw.js")
    assert response["Content-Type"].startswith("text/javascript")
    body = response.content.decode()
    assert '"/offline/"' in body and "showNotification" in body and "openWindow" in body
    assert client.get("/offline/").status_code == 200


def test_the_shell_is_every_static_file_of_partas_apps_under_a_version_of_their_contents(
    client: Client, monkeypatch, tmp_path
):
    body = client.get("/sw.js").content.decode()
    listed = re.search(r"const SHELL = (\[.*?\]);", body)
    assert listed, body[:200]
    urls = json.loads(listed.group(1))
    assert urls[0] == "/offline/"
    for name in ("web/parta.css", "messaging/chat.css", "messaging/chat.js", "calls/call.js"):
        assert f"/static/{name}" in urls
    assert "/static/realtime/events.js" in urls  # imported by chat.js, not linked by a page
    assert not [url for url in urls if url.startswith("/static/admin/")]
    assert f'"parta-shell-{shell.shell().version}"' in body

    # A changed file is a new version, and so a new sw.js.
    file = tmp_path / "chat.js"
    monkeypatch.setattr(shell, "_files", lambda: {"messaging/chat.js": file})
    file.write_text("export const a = 1;")
    before = shell._shell().version
    file.write_text("export const a = 2;")
    assert shell._shell().version != before


def test_the_chat_list_offers_install_and_notifications(school, client: Client):
    teacher = make_member(school, "teacher")
    client.force_login(teacher)
    page = client.get("/messages/").content.decode()
    assert "Установить Парту на телефон" in page
    assert 'rel="manifest"' in page and "notifications/push.js" in page


def test_the_settings_page_saves_quiet_hours(school, client: Client):
    teacher = make_member(school, "teacher")
    client.force_login(teacher)
    assert client.get("/notifications/settings/").status_code == 200
    response = client.post(
        "/notifications/settings/", {"quiet_from": "22:00", "quiet_until": "06:30"}
    )
    assert response.status_code == 302
    saved = NotificationSettings.objects.get(person=teacher)
    assert (saved.quiet_hours, str(saved.quiet_from), str(saved.quiet_until)) == (
        False,
        "22:00:00",
        "06:30:00",
    )

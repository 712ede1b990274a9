"""The call's moderator controls in the browser: the creator mutes a student, removes them
(who cannot come back), then ends the call for everyone. Two Chromium pages with fake
devices against a live uvicorn serving the pages and the signaling WebSocket."""

from pathlib import Path

import pytest
from django.db import connections

from parta.calls.models import Call, CallParticipation
from parta.calls.services import open_call
from parta.messaging.services import create_conversation
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, signed_in_page
from tests.browser.test_call_media import MEDIA_ARGS
from tests.factories import make_member
from tests.realtime.servers import server_env, uvicorn_servers

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} is absent"),
]

SEES_ONE_PEER = "() => window.partaCall && window.partaCall.peers.size === 1"


@pytest.fixture
def server(transactional_db, tmp_path):
    with uvicorn_servers(server_env(DEBUG="1"), tmp_path, count=1) as ports:
        yield f"http://127.0.0.1:{ports[0]}"


def test_the_creator_mutes_removes_and_ends_from_the_page(school, server):
    from playwright.sync_api import sync_playwright

    teacher = make_member(school, "teacher", "Смирнова Елена Викторовна")
    student = make_member(school, "student", "Соколов Артём")
    chat = create_conversation(teacher, school, title="Математика 5А", members=[student])
    call = open_call(teacher, school, conversation=chat).call

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS + MEDIA_ARGS, headless=True
        )
        pages = {}
        for who, person in (("teacher", teacher), ("student", student)):
            page = signed_in_page(browser, server, person)
            page.on("dialog", lambda dialog: dialog.accept())
            page.goto(f"/calls/{call.pk}/")
            pages[who] = page
        for page in pages.values():
            page.wait_for_function(SEES_ONE_PEER, timeout=20_000)
        teacher_page, student_page = pages["teacher"], pages["student"]

        # Only the creator gets the moderator's buttons.
        tile = teacher_page.locator(".peer:not(.me)", has_text="Соколов Артём")
        assert student_page.locator(".peer:not(.me) button").count() == 0
        assert student_page.locator("[data-action=end]").is_hidden()

        tile.get_by_role("button", name="Выключить микрофон").click()
        student_page.wait_for_function(
            "() => document.getElementById('call-status').textContent"
            ".includes('Ведущий выключил ваш микрофон')",
            timeout=10_000,
        )
        assert student_page.locator("[data-action=mic]").get_attribute("aria-pressed") == "false"

        tile.get_by_role("button", name="Удалить из звонка").click()
        student_page.wait_for_function(
            "() => document.getElementById('call-status').textContent"
            ".includes('Вас удалили из звонка')",
            timeout=10_000,
        )
        teacher_page.wait_for_function("() => window.partaCall.peers.size === 0", timeout=10_000)
        stay = CallParticipation.objects.get(call=call, person=student)
        assert (stay.removed_by_id, stay.left_at is not None) == (teacher.pk, True)
        # The student cannot come back, even by reloading the page.
        assert student_page.goto(f"/calls/{call.pk}/").status == 404

        teacher_page.locator("[data-action=end]").click()
        teacher_page.wait_for_url(f"**/messages/{chat.pk}/", timeout=10_000)
        call.refresh_from_db()
        assert call.ended_at is not None
        assert not CallParticipation.objects.filter(call=call, left_at__isnull=True).exists()
        assert Call.objects.get(pk=call.pk).held_at is not None
        browser.close()
        # Django's connection inside Playwright's event loop (see test_call_media).
        connections.close_all()

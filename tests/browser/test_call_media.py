"""Real media: two headless Chromium pages (fake camera and microphone) join one call on
loopback through a live uvicorn serving Parta's pages and the signaling WebSocket, and both
reach ICE «connected»; the call then counts as held in the weekly report."""

from pathlib import Path

import pytest
from django.db import connections
from django.utils import timezone

from parta.calls.models import CallParticipation
from parta.calls.services import open_call
from parta.messaging.services import create_conversation
from parta.monitoring.engine import weekly_report
from parta.monitoring.scopes import Scope
from parta.monitoring.weeks import Week
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, signed_in_page
from tests.factories import make_member
from tests.realtime.servers import server_env, uvicorn_servers

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} is absent"),
]

MEDIA_ARGS = [
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--allow-loopback-in-peer-connection",
    "--disable-features=WebRtcHideLocalIpsWithMdns",
    "--autoplay-policy=no-user-gesture-required",
]
CONNECTED = """() => window.partaCall && [...window.partaCall.peers.values()].some(
  (p) => ["connected", "completed"].includes(p.pc.iceConnectionState))"""


@pytest.fixture
def server(transactional_db, tmp_path):
    with uvicorn_servers(server_env(DEBUG="1"), tmp_path, count=1) as ports:
        yield f"http://127.0.0.1:{ports[0]}"


def test_two_browsers_connect_media_and_the_call_is_held(school, server, monkeypatch):
    from playwright.sync_api import sync_playwright

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    teacher = make_member(school, "teacher", "Смирнова Елена Викторовна")
    student = make_member(school, "student", "Соколов Артём")
    chat = create_conversation(teacher, school, title="Математика 5А", members=[student])
    call = open_call(teacher, school, conversation=chat).call

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS + MEDIA_ARGS, headless=True
        )
        pages = []
        for person in (teacher, student):
            page = signed_in_page(browser, server, person)
            page.goto(f"/calls/{call.pk}/")
            pages.append(page)
        for page in pages:
            page.wait_for_function(CONNECTED, timeout=30_000)
        states = [
            page.evaluate(
                "() => [...window.partaCall.peers.values()].map((p) => p.pc.iceConnectionState)"
            )
            for page in pages
        ]
        assert all(len(s) == 1 and s[0] in ("connected", "completed") for s in states)
        # Media flows: the remote video of each page gets frames from the fake camera.
        for page in pages:
            page.wait_for_function(
                "() => [...document.querySelectorAll('.peer:not(.me) video')]"
                ".some((v) => v.videoWidth > 0)",
                timeout=15_000,
            )

        open_stays = CallParticipation.objects.filter(call=call, left_at__isnull=True)
        assert sorted(open_stays.values_list("person_id", flat=True)) == sorted(
            [teacher.pk, student.pk]
        )
        week = Week.containing(timezone.now(), school.district.region.zone)
        (row,) = weekly_report(Scope("organization", organization=school), week).organizations
        assert (row["calls_held"], row["teachers_1_call"]) == (1, 1)

        # The student closes the tab: their stay ends, the teacher's goes on.
        pages[1].context.close()
        pages[0].wait_for_function("() => window.partaCall.peers.size === 0", timeout=10_000)
        student_stay = CallParticipation.objects.get(call=call, person=student)
        assert student_stay.left_at is not None
        assert CallParticipation.objects.get(call=call, person=teacher).left_at is None
        browser.close()
        # Playwright runs this block in a greenlet, where Django opened a connection of its
        # own; left open, it keeps PostgreSQL from dropping the test database.
        connections.close_all()

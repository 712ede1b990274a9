"""A class's call through a real Janus: six headless Chromium pages (fake camera and
microphone) join one call, each publishes to Janus and decodes the other five's video, and
the attendance comes from Janus's event handler posting to Parta's events endpoint.

Needs the Janus that .ci/run starts (deploy/janus/configure with test secrets, on loopback)
and its PARTA_JANUS_* settings; Janus posts its events to PARTA_JANUS_EVENTS_URL, so the live
server of this test listens on that URL's port. Skips without them."""

import time
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.db import connections
from django.utils import timezone

from parta.calls.media import JANUS
from parta.calls.models import CallParticipation, MediaConnection
from parta.calls.services import end_call, open_call
from parta.messaging.models import Conversation
from parta.messaging.services import create_conversation
from parta.monitoring.engine import weekly_report
from parta.monitoring.scopes import Scope
from parta.monitoring.weeks import Week
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, signed_in_page
from tests.browser.test_call_media import MEDIA_ARGS
from tests.factories import make_member
from tests.realtime.servers import server_env, uvicorn_servers
from tests.settings import JANUS_ENV

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} is absent"),
]

PEOPLE = 6
# Frames decoded from how many others' video on this page (Janus's subscriber connection).
DECODING = """async (others) => {
  const sfu = window.partaCall && window.partaCall.sfu();
  const pc = sfu && sfu.subscriber && sfu.subscriber.webrtcStuff && sfu.subscriber.webrtcStuff.pc;
  if (!pc) return false;
  let decoding = 0;
  (await pc.getStats()).forEach((s) => {
    if (s.type === "inbound-rtp" && s.kind === "video" && s.framesDecoded > 0) decoding += 1;
  });
  return decoding >= others;
}"""
PUBLISHING = """() => {
  const sfu = window.partaCall && window.partaCall.sfu();
  const pc = sfu && sfu.publisher && sfu.publisher.webrtcStuff && sfu.publisher.webrtcStuff.pc;
  return Boolean(pc) && ["connected", "completed"].includes(pc.iceConnectionState);
}"""


def _janus_answers(url: str) -> bool:
    try:
        # The URL is the test environment's own (PARTA_JANUS_URL), http on loopback.
        with urllib.request.urlopen(f"{url.rstrip('/')}/info", timeout=3) as response:  # noqa: S310
            return response.status == 200
    except OSError:
        return False


@pytest.fixture
def janus(settings) -> dict[str, str]:
    """Janus's settings, in this process (the call is opened here) and for the server."""
    url, events = JANUS_ENV.get("PARTA_JANUS_URL"), JANUS_ENV.get("PARTA_JANUS_EVENTS_URL")
    if not url or not events:
        pytest.skip(
            "no Janus: PARTA_JANUS_URL and PARTA_JANUS_EVENTS_URL are unset (.ci/run starts one)"
        )
    if not _janus_answers(url):
        pytest.skip(f"Janus does not answer at {url}/info")
    for name, value in JANUS_ENV.items():
        if name != "PARTA_JANUS_EVENTS_URL":
            setattr(settings, name, value)
    return JANUS_ENV


@pytest.fixture
def server(janus, transactional_db, tmp_path):
    port = urlsplit(janus["PARTA_JANUS_EVENTS_URL"]).port
    assert port, "PARTA_JANUS_EVENTS_URL names its port (the test's server listens there)"
    with uvicorn_servers(server_env(DEBUG="1", **janus), tmp_path, count=1, ports=[port]):
        yield f"http://127.0.0.1:{port}"


def test_six_people_in_a_class_call_through_janus(school, server, monkeypatch):
    from playwright.sync_api import sync_playwright

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    teacher = make_member(school, "teacher", "Смирнова Елена Викторовна")
    names = ("Соколов Артём", "Иванова Мария", "Петров Илья", "Кузнецова Анна", "Орлов Глеб")
    students = [make_member(school, "student", name) for name in names]
    people = [teacher, *students]
    chat = create_conversation(
        teacher, school, title="5А", purpose=Conversation.Purpose.CLASS, members=students
    )
    call = open_call(teacher, school, conversation=chat).call
    assert call.media == JANUS

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS + MEDIA_ARGS, headless=True
        )
        pages = [signed_in_page(browser, server, person) for person in people]
        for page in pages:  # the six load side by side
            page.goto(f"/calls/{call.pk}/", wait_until="commit")
        for page in pages:
            page.wait_for_function(PUBLISHING, timeout=90_000)
        # Flowing: every page decodes frames of the other five's video, forwarded by Janus.
        for page in pages:
            page.wait_for_function(DECODING, arg=PEOPLE - 1, polling=250, timeout=45_000)

        # Attendance from Janus's event handler: a media connection for each of the six,
        # counted in their open stay beside the page's signaling socket; the call is held.
        stays = CallParticipation.objects.filter(call=call, left_at__isnull=True)
        deadline = time.monotonic() + 20
        while stays.filter(connections=2).count() < PEOPLE and time.monotonic() < deadline:
            time.sleep(0.2)
        joined = MediaConnection.objects.filter(call=call, left_at__isnull=True)
        assert sorted(joined.values_list("person_id", flat=True)) == sorted(p.pk for p in people)
        assert sorted(stays.values_list("person_id", "connections")) == sorted(
            (p.pk, 2) for p in people
        )
        week = Week.containing(timezone.now(), school.district.region.zone)
        (row,) = weekly_report(Scope("organization", organization=school), week).organizations
        assert (row["calls_held"], row["teachers_1_call"]) == (1, 1)

        # The tabs close (janus.js ends its Janus session on unload): Janus reports each
        # media connection gone. A tab that dies without a word is
        # noticed by Janus's session timeout instead (60 s, deploy/janus/janus.jcfg).
        for page in pages:
            page.close(run_before_unload=True)
        deadline = time.monotonic() + 20
        while joined.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not joined.exists(), "Janus reported no end of these media connections"
        assert MediaConnection.objects.filter(call=call).count() == PEOPLE
        # Each stay lost its media connection (its socket's end may still be on its way).
        assert not stays.filter(connections__gt=1).exists()
        end_call(call)  # and the room goes from Janus, so the next test starts clean
        browser.close()
        # Playwright runs this block in a greenlet, where Django opened a connection of its
        # own; left open, it keeps PostgreSQL from dropping the test database.
        connections.close_all()

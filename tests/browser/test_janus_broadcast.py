"""A broadcast through a real Janus: a teacher presents in a channel to five students in
headless Chromium (fake camera and microphone); every viewer decodes the presenter's video
and sends nothing, Janus itself refuses a viewer who tries to join as a publisher, and the
attendance and the report count a held broadcast, not a call.

Needs the Janus that .ci/run starts and its PARTA_JANUS_* settings (test_janus_call.py
says how); skips without them. Run one Janus browser test at a time."""

import time
from pathlib import Path

import pytest
from django.db import connections
from django.utils import timezone

from parta.calls.media import JANUS
from parta.calls.models import CallParticipation, MediaConnection
from parta.calls.services import open_broadcast
from parta.messaging.models import Conversation
from parta.messaging.services import create_conversation
from parta.monitoring.engine import weekly_report
from parta.monitoring.scopes import Scope
from parta.monitoring.weeks import Week
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, signed_in_page
from tests.browser.test_call_media import MEDIA_ARGS
from tests.browser.test_janus_call import DECODING, PUBLISHING, janus, server
from tests.factories import make_member

__all__ = ["janus", "server"]
pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} is absent"),
]

VIEWERS = 5
# What a viewer's page sends: no publisher handle, and no RTP leaving any of its connections.
SENDING = """async () => {
  const sfu = window.partaCall && window.partaCall.sfu();
  const pc = sfu && sfu.subscriber && sfu.subscriber.webrtcStuff && sfu.subscriber.webrtcStuff.pc;
  let sent = 0;
  if (pc) (await pc.getStats()).forEach((s) => { if (s.type === "outbound-rtp") sent += 1; });
  return { publisher: Boolean(sfu && sfu.publisher), outbound: sent,
           // Its subscriber connection was seen gone right after decoding in one of about
           // three runs (an open bug, not what this checks): none then sends nothing.
           tracks: pc ? pc.getSenders().filter((s) => s.track).length : 0,
           camera: Boolean(document.querySelector("[data-action=cam], video#local")) };
}"""
# The viewer's own Janus session tries to join the room as a publisher with its token.
JOIN_AS_PUBLISHER = """() => new Promise((resolve) => {
  const sfu = window.partaCall.sfu();
  sfu.janus.attach({
    plugin: "janus.plugin.videoroom",
    success: (handle) => handle.send({ message: { request: "join", ptype: "publisher",
      room: sfu.credentials.room, token: sfu.credentials.token, display: "viewer" } }),
    onmessage: (message) => resolve(message.error_code || message.videoroom),
    error: (error) => resolve(String(error)),
  });
})"""


def test_a_presenter_and_five_viewers_through_janus(school, server, monkeypatch):
    from playwright.sync_api import sync_playwright

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    teacher = make_member(school, "teacher", "Смирнова Елена Викторовна")
    names = ("Соколов Артём", "Иванова Мария", "Петров Илья", "Кузнецова Анна", "Орлов Глеб")
    students = [make_member(school, "student", name) for name in names]
    channel = create_conversation(
        teacher, school, title="Линейка 5А", kind=Conversation.Kind.CHANNEL, members=students
    )
    broadcast = open_broadcast(teacher, channel).call
    assert broadcast.media == JANUS

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS + MEDIA_ARGS, headless=True
        )
        presenter = signed_in_page(browser, server, teacher)
        presenter.goto(f"/calls/{broadcast.pk}/", wait_until="commit")
        viewers = [signed_in_page(browser, server, student) for student in students]
        for page in viewers:  # some come before the presenter publishes, some after
            page.goto(f"/calls/{broadcast.pk}/", wait_until="commit")
        presenter.wait_for_function(PUBLISHING, timeout=60_000)
        # Flowing: every viewer decodes frames of the presenter's video, forwarded by Janus.
        for page in viewers:
            page.wait_for_function(DECODING, arg=1, polling=250, timeout=45_000)
        for page in viewers:
            assert page.evaluate(SENDING) == {
                "publisher": False,
                "outbound": 0,
                "tracks": 0,
                "camera": False,
            }
        # The server refuses a viewer's publishing, not only the page: Janus's room ACL.
        assert viewers[0].evaluate(JOIN_AS_PUBLISHER) == 433

        # Attendance: the presenter's stay holds their socket and their Janus media; each
        # viewer's, their socket. A presenter with viewers: a held broadcast, not a call.
        stays = CallParticipation.objects.filter(call=broadcast, left_at__isnull=True)
        deadline = time.monotonic() + 20
        while not stays.filter(person=teacher, connections=2).exists():
            assert time.monotonic() < deadline, list(stays.values_list("person_id", "connections"))
            time.sleep(0.2)
        assert sorted(stays.values_list("person_id", "connections")) == sorted(
            [(teacher.pk, 2), *((s.pk, 1) for s in students)]
        )
        joined = MediaConnection.objects.filter(call=broadcast, left_at__isnull=True)
        assert list(joined.values_list("person_id", flat=True)) == [teacher.pk]
        week = Week.containing(timezone.now(), school.district.region.zone)
        (row,) = weekly_report(Scope("organization", organization=school), week).organizations
        assert (row["broadcasts_held"], row["calls_held"], row["teachers_1_call"]) == (1, 0, 0)
        browser.close()
        connections.close_all()

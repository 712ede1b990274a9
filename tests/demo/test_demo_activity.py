"""The demo's past weeks: varied schools, indicator tallies equal to the messages, idempotent;
and the activation checklist they leave each school with."""

from datetime import timedelta

import pytest

from parta.demo.activity import seed_activity
from parta.messaging.models import Conversation, Message
from parta.monitoring import tallies
from parta.monitoring.checklist import activation_checklist
from parta.monitoring.engine import weekly_report
from parta.monitoring.scopes import resolve_scope
from parta.monitoring.weeks import Week
from tests.demo.conftest import NOW

pytestmark = pytest.mark.django_db


def test_seeded_weeks_make_active_and_inactive_schools_and_a_second_run_adds_nothing(
    seeded_district,
):
    demo, written = seeded_district.demo, seeded_district.messages_written
    assert written == Message.objects.count() > 1000
    assert not Message.objects.filter(written_at__gte=NOW).exists()
    assert tallies.stored() == tallies.recount()
    report = weekly_report(resolve_scope(), Week(2026, 47))
    rows = {r["id"]: r for r in report.organizations}
    assert rows["demo:org:s01"]["active"] and rows["demo:org:s01"]["teachers_10_messages"] > 0
    assert rows["demo:org:s01"]["teachers_1_call"] > 0
    assert not rows["demo:org:s09"]["active"] and rows["demo:org:s09"]["messages"] == 0
    assert 3 <= report.total["active_organizations"] <= 9
    # Several weeks back, not only the last one.
    assert weekly_report(resolve_scope(), Week(2026, 43)).total["messages"] > 0
    assert Conversation.objects.filter(kind="channel", purpose="info").count() == 8
    before = (Message.objects.count(), Conversation.objects.count())
    assert seed_activity(demo.schools, now=NOW + timedelta(days=1)) == 0
    assert (Message.objects.count(), Conversation.objects.count()) == before


def test_checklist_on_the_demo_district(seeded_district):
    by_school = {
        key: {s.key for s in activation_checklist(school, NOW) if s.done}
        for key, school in seeded_district.demo.schools.items()
    }
    structure = {"classes_created", "teachers_class", "students_joined"}
    profile = {"profile_complete", "teachers_joined"}
    # s01 is the most active demo school: everything but the sign-in and a staff channel.
    assert by_school["s01"] == structure | profile | {
        "info_channel",
        "class_chats",
        "parent_chats",
        "call_held",
    }
    for key in ("s02", "s03", "s04", "s05", "s06"):
        assert by_school[key] == structure | profile | {"info_channel", "call_held"}, key
    for key in ("s07", "s08"):
        assert by_school[key] == structure | {"info_channel"}, key
    for key in ("s09", "s10"):  # not started: only what the demo built for them
        assert by_school[key] == structure, key

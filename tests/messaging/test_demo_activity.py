"""The demo's past weeks: varied schools, indicator tallies equal to the messages, idempotent."""

from datetime import timedelta

import pytest

from parta.demo.activity import seed_activity
from parta.demo.services import seed_demo
from parta.messaging.models import Conversation, Message
from parta.monitoring import tallies
from parta.monitoring.engine import weekly_report
from parta.monitoring.scopes import resolve_scope
from parta.monitoring.weeks import Week
from tests.factories import local

pytestmark = pytest.mark.django_db
NOW = local("2026-11-29 12:00")


def test_seeded_weeks_make_active_and_inactive_schools_and_a_second_run_adds_nothing():
    demo = seed_demo()
    written = seed_activity(demo.schools, now=NOW)
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

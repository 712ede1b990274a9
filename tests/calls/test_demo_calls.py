"""seed-demo's past staff meetings by link: held and not held, a guest now and then, counted
by the weekly report, and a second run adds nothing."""

from datetime import timedelta

import pytest
from django.utils import timezone

from parta.calls.models import Call, CallGuest
from parta.calls.selectors import held_calls
from parta.demo.calls import EXTERNAL_PREFIX, seed_calls
from parta.monitoring.engine import weekly_report
from parta.monitoring.scopes import Scope
from parta.monitoring.weeks import Week
from tests.factories import make_member

pytestmark = pytest.mark.django_db


def test_staff_meetings_are_seeded_once_and_counted(school):
    head = make_member(school, "teacher", "Смирнова Елена Викторовна")
    for n in range(5):
        make_member(school, "teacher", f"Учитель{n} Иван Иванович")
    now = timezone.now()
    made = seed_calls({"s01": school}, now=now)
    calls = Call.objects.filter(external_id__startswith=EXTERNAL_PREFIX)
    assert made == calls.count() > 0
    assert set(calls.values_list("created_by", flat=True)) == {head.pk}
    assert all(call.ended_at is not None and call.ended_at < now for call in calls)
    assert seed_calls({"s01": school}, now=now) == 0
    assert calls.count() == made

    zone = school.district.region.zone
    last_week = Week.containing(now - timedelta(weeks=1), zone)
    start, end = last_week.bounds(zone)
    held_last_week = held_calls().filter(
        organization=school, created_at__gte=start, created_at__lt=end
    )
    (row,) = weekly_report(Scope("organization", organization=school), last_week).organizations
    assert row["calls_held"] == held_last_week.count()
    assert row["teachers_1_call"] == (1 if held_last_week.exists() else 0)
    assert not CallGuest.objects.exclude(call__in=calls).exists()


def test_schools_that_have_not_started_get_no_calls(school):
    make_member(school, "teacher")
    make_member(school, "teacher", "Кузнецов Иван Сергеевич")
    assert seed_calls({"s09": school}) == 0

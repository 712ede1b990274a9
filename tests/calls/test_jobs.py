"""Housekeeping that the job runner schedules by itself: the calls' sweep every minute and
the pruning of the live event log every day (no cron or timer to set up)."""

from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from parta.calls import jobs as calls_jobs
from parta.calls.models import CallParticipation
from parta.calls.services import join_call, start_call
from parta.jobs import runner
from parta.realtime import jobs as realtime_jobs
from parta.realtime.models import PersonEvent
from parta.realtime.services import publish


def due(moment: datetime) -> set[str]:
    return {task.name for task in runner.HUEY.read_periodic(moment)}


def test_the_sweep_is_due_every_minute_and_pruning_once_a_day() -> None:
    minutes = [datetime(2026, 11, 23, 0, 0) + timedelta(minutes=n) for n in range(24 * 60)]
    assert all("calls.sweep" in due(moment) for moment in minutes)
    pruning = [moment for moment in minutes if "realtime.prune_events" in due(moment)]
    assert pruning == [datetime(2026, 11, 23, 3, 17)]


@pytest.mark.django_db
def test_the_sweep_job_closes_a_stay_whose_tab_fell_silent(c, settings):
    settings.PARTA_CALL_HEARTBEAT_TIMEOUT = 30
    call = start_call(c.teacher, c.org, at=timezone.now() - timedelta(minutes=5))
    join_call(call, c.teacher, at=timezone.now() - timedelta(minutes=5))
    calls_jobs.sweep.call_local()
    stay = CallParticipation.objects.get(call=call)
    assert stay.left_at == stay.joined_at
    call.refresh_from_db()
    assert call.ended_at == stay.joined_at


@pytest.mark.django_db
def test_the_pruning_job_deletes_events_older_than_thirty_days(c):
    publish([c.teacher.pk], "old", {})
    PersonEvent.objects.update(created_at=timezone.now() - timedelta(days=31))
    publish([c.teacher.pk], "new", {})
    realtime_jobs.prune.call_local()
    assert list(PersonEvent.objects.values_list("kind", flat=True)) == ["new"]

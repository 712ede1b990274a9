"""`parta run-jobs` as it runs in production: its own process, taking what another queued."""

import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from parta.realtime import jobs as realtime_jobs
from parta.realtime.models import PersonEvent
from parta.realtime.services import EVENTS_KEPT_DAYS, publish
from tests.factories import make_person
from tests.realtime.servers import server_env

pytestmark = pytest.mark.django_db(transaction=True)

PARTA = Path(sys.executable).parent / "parta"


def test_run_jobs_runs_a_queued_task_then_stops_on_sigint(tmp_path):
    anna = make_person("Иванова Анна")
    publish([anna.pk], "message.new", {"n": 1})
    publish([anna.pk], "message.new", {"n": 2})
    old = timezone.now() - timedelta(days=EVENTS_KEPT_DAYS + 1)
    PersonEvent.objects.filter(person=anna, seq=1).update(created_at=old)
    # Queued here, in the queue the runner reads (the same SQLite file or Redis keys: the
    # runner inherits PARTA_DATA_DIR and the run's prefixes); run only by the runner.
    realtime_jobs.prune()
    assert PersonEvent.objects.filter(person=anna).count() == 2

    log = (tmp_path / "run-jobs.log").open("w+")
    runner = subprocess.Popen(  # noqa: S603 - fixed arguments, our own command
        [str(PARTA), "run-jobs", "--workers", "1", "--no-periodic"],
        env=server_env(),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while PersonEvent.objects.filter(person=anna, seq=1).exists():
            assert runner.poll() is None, "run-jobs exited"
            assert time.monotonic() < deadline, "the queued prune did not run in 60 s"
            time.sleep(0.2)  # polling the database: the runner tells this process nothing
        runner.send_signal(signal.SIGINT)
        assert runner.wait(timeout=30) == 0
    finally:
        if runner.poll() is None:
            runner.kill()
            runner.wait()
        log.seek(0)
        output = log.read()
        log.close()
    assert "Parta jobs:" in output and "1 worker(s), periodic off" in output, output
    assert list(PersonEvent.objects.filter(person=anna).values_list("seq", flat=True)) == [2]

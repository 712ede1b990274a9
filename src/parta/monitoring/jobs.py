"""Background jobs on huey: the weekly digests, checked every hour, and the periodic
housekeeping of other apps (calls' sweep every minute; daily, the live event log and the
uploads never sent), whose modules are imported here so that every consumer schedules them.

The queue is configured in settings.HUEY: a SQLite file under PARTA_DATA_DIR in the
embedded default, Redis when REDIS_URL is set. A job may still run twice (two
consumers both scheduling periodic tasks, a retried task); `deliver_digest`'s unique
row makes the second run send nothing, and the lock below spares it the work.
"""

import logging
import signal
from datetime import datetime

from django.utils import timezone
from huey import crontab
from huey.consumer import Consumer
from huey.contrib.djhuey import HUEY, db_periodic_task, db_task
from huey.exceptions import TaskLockedException

# Imported for their periodic tasks, which register themselves with the queue.
from parta.calls import jobs as calls_jobs  # noqa: F401
from parta.messaging import jobs as messaging_jobs  # noqa: F401
from parta.monitoring.digests import DigestRun, send_due_digests
from parta.realtime import jobs as realtime_jobs  # noqa: F401

log = logging.getLogger(__name__)

DIGESTS_LOCK = "monitoring.digests"


def run_digests(now: datetime) -> DigestRun | None:
    """The digests due at `now`; None when another consumer is sending them right now."""
    try:
        with HUEY.lock_task(DIGESTS_LOCK):
            run = send_due_digests(now)
    except TaskLockedException:
        log.info("weekly digests: another run is in progress, skipping")
        return None
    if run.schools:
        log.info(
            "weekly digests: %s school(s), %s sent, %s already sent, %s email(s), %s failed",
            run.schools,
            run.sent,
            run.already_sent,
            run.emailed,
            run.email_failures,
        )
    return run


@db_task(name="monitoring.send_digests")
def send_digests(at: str | None = None) -> None:
    """The digests due at `at` (ISO time; now when empty), on a worker."""
    run_digests(datetime.fromisoformat(at) if at else timezone.now())


# Hourly: every region's Monday morning falls on some hour, whatever its offset.
@db_periodic_task(crontab(minute="5"), name="monitoring.weekly_digests")
def weekly_digests() -> None:
    run_digests(timezone.now())


def start_consumer(workers: int) -> Consumer:
    """Consumer threads inside the calling process (`parta serve`), scheduler included.

    The process's signals stay with their owner (uvicorn): the threads are daemons and
    end with the process; the caller stops them after the server returns. A lock left by
    a run that died with its process is cleared at start.
    """
    consumer = HUEY.create_consumer(
        workers=workers,
        worker_type="thread",
        periodic=True,
        extra_locks=DIGESTS_LOCK,
        shutdown_timeout=30,
    )
    kept = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    consumer.start()
    for sig, handler in kept.items():
        signal.signal(sig, handler)
    return consumer

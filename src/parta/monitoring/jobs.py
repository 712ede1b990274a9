"""The weekly digests on the job queue (parta.jobs runs the consumers).

A job may still run twice (two consumers both scheduling periodic tasks, a retried task);
`deliver_digest`'s unique row makes the second run send nothing, and the lock below spares
it the work.
"""

import logging
from datetime import datetime

from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import HUEY, db_periodic_task, db_task
from huey.exceptions import TaskLockedException

from parta.monitoring.digests import DigestRun, send_due_digests

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

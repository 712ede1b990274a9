"""Calls' housekeeping on the job queue (parta.jobs runs the consumers)."""

import logging

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from parta.calls.services import sweep_calls

log = logging.getLogger(__name__)


# Every minute: a stay whose process died with its socket is closed at its last heartbeat,
# so "who is in the call" and the held-call rule see it gone within a minute or so.
@db_periodic_task(crontab(), name="calls.sweep")
def sweep() -> None:
    result = sweep_calls()
    if result.stays_closed or result.calls_ended:
        log.info(
            "calls sweep: %s stay(s) closed, %s call(s) ended",
            result.stays_closed,
            result.calls_ended,
        )

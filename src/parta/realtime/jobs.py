"""Pruning the live event log on the job queue (parta.jobs runs the consumers)."""

import logging
from datetime import timedelta

from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from parta.realtime.services import EVENTS_KEPT_DAYS, prune_events

log = logging.getLogger(__name__)


# Daily, at a quiet hour for every Russian time zone (03:17 UTC is 06:17 in Moscow).
@db_periodic_task(crontab(hour="3", minute="17"), name="realtime.prune_events")
def prune() -> None:
    deleted = prune_events(timezone.now() - timedelta(days=EVENTS_KEPT_DAYS))
    if deleted:
        log.info("live events: %s older than %s days deleted", deleted, EVENTS_KEPT_DAYS)

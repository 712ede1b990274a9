"""Messaging's housekeeping on the job queue (parta.jobs runs the consumers)."""

import logging
from datetime import timedelta

from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from parta.messaging.services import discard_unsent_uploads

log = logging.getLogger(__name__)

# An upload waits this long for its message (a slow phone may take a while to send).
UNSENT_UPLOAD_KEPT = timedelta(days=1)


@db_periodic_task(crontab(hour="3", minute="27"), name="messaging.discard_unsent_uploads")
def discard_unsent() -> None:
    discarded = discard_unsent_uploads(timezone.now() - UNSENT_UPLOAD_KEPT)
    if discarded:
        log.info("uploads never sent: %s deleted", discarded)

"""Invitations' SMS to a whole class, sent on the job queue (parta.jobs runs the consumers):
thirty families' texts take the gateway longer than a page should wait."""

import logging

from django.core.exceptions import PermissionDenied
from huey.contrib.djhuey import db_task

from parta.accounts.models import Person
from parta.invites.delivery import send_invitation_sms
from parta.invites.invitation_status import with_related
from parta.invites.models import PersonalInvitation

log = logging.getLogger(__name__)


@db_task(name="invites.send_invitation_sms")
def send_invitations_sms(invitation_ids: list[int], by_id: int) -> None:
    """Text the invitations; what the school's hourly limit held back is queued again for
    when it allows (those texted by then are skipped as sent today)."""
    invitations = list(with_related(PersonalInvitation.objects.filter(pk__in=invitation_ids)))
    by = Person.objects.filter(pk=by_id, is_active=True).first()
    if not invitations or by is None:
        return
    try:
        report = send_invitation_sms(invitations, by=by)
    except PermissionDenied:
        # No longer their admin or class teacher: what they queued is not sent.
        log.info("invitation SMS by %s dropped: no longer allowed", by_id)
        return
    log.info(
        "invitation SMS: %s sent, %s failed, %s held back by the hourly limit",
        report.sent,
        report.failed,
        report.skipped_limit,
    )
    if report.skipped_limit and report.retry_after:
        send_invitations_sms.schedule(args=(invitation_ids, by_id), delay=report.retry_after)

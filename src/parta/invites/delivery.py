"""Getting a personal invitation to its person again: an SMS with the code, or a new code.

An invitation is texted at most once a day (a parent who got nothing may be texted again
tomorrow, a double tap on «send» costs nothing), only to a roster record that has a phone,
and a school sends at most PARTA_INVITATION_SMS_PER_HOUR of them an hour: a mistaken
«send to all» cannot empty the gateway's balance at once. Every attempt is logged as an
InvitationSms; the log never holds the code.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from parta import ratelimit
from parta.accounts.models import Person
from parta.accounts.services import record_audit
from parta.accounts.sms import SmsError, get_sms_backend
from parta.invites.invitation_status import TEXT_AGAIN_AFTER
from parta.invites.invitations import (
    InvitationEntry,
    issue_personal_invitations,
    join_path,
    may_invite,
    shown_code,
    unseal,
)
from parta.invites.models import InvitationSms, PersonalInvitation
from parta.structure.models import Organization

SMS_AGAIN_AFTER = TEXT_AGAIN_AFTER
SMS_WINDOW_SECONDS = 3600


@dataclass
class SmsReport:
    sent: int = 0
    skipped_no_phone: int = 0
    skipped_today: int = 0  # texted less than 24 hours ago
    skipped_closed: int = 0  # joined, revoked or expired before its turn came
    skipped_unreadable: int = 0  # sealed under an older SECRET_KEY: reissue it
    skipped_limit: int = 0  # over the school's hourly number: try again in retry_after s
    failed: int = 0
    retry_after: int | None = None

    @property
    def left_over(self) -> bool:
        return self.skipped_limit > 0


def sms_limit(organization: Organization) -> ratelimit.Limit:
    return ratelimit.Limit(
        key=f"invites:sms:{organization.pk}",
        limit=settings.PARTA_INVITATION_SMS_PER_HOUR,
        window=SMS_WINDOW_SECONDS,
    )


def sms_text(invitation: PersonalInvitation, code: str, base_url: str) -> str:
    """Short enough for two SMS parts in Cyrillic; no other person's name, not even the
    child's (a parent's phone may be shared)."""
    return _("Парта: приглашение в «%(school)s» для %(person)s. Код %(shown)s. Войти: %(url)s") % {
        "school": invitation.organization,
        # «Петрова О. И.» ends with its own full stop: no second one before «Код».
        "person": invitation.person.short_name.rstrip("."),
        "shown": shown_code(code),
        "url": base_url.rstrip("/") + join_path(code),
    }


def _check_allowed(invitations: Sequence[PersonalInvitation], by: Person) -> None:
    for invitation in invitations:
        if not may_invite(by, invitation.organization, invitation.school_class):
            raise PermissionDenied(_("Приглашать могут администратор и классный руководитель."))


def _texted_since(invitations: Sequence[PersonalInvitation], since: datetime) -> set[int]:
    return set(
        InvitationSms.objects.filter(
            invitation__in=invitations, status=InvitationSms.Status.SENT, sent_at__gt=since
        ).values_list("invitation_id", flat=True)
    )


def _scrubbed(error: SmsError, code: str) -> str:
    """The gateway's words for the log: never with the code, whatever the gateway echoed."""
    text = str(error) or error.__class__.__name__
    for spelling in (code, shown_code(code)):
        text = text.replace(spelling, "…")
    return text[:300]


def send_invitation_sms(
    invitations: Sequence[PersonalInvitation],
    *,
    by: Person,
    now: datetime | None = None,
    base_url: str | None = None,
) -> SmsReport:
    """Text each invitation's code to its person; see the module's rules. `invitations` come
    with organization__district__region, person and school_class read."""
    _check_allowed(invitations, by)
    now = now or timezone.now()
    base_url = base_url or settings.PARTA_BASE_URL
    report = SmsReport()
    texted = _texted_since(invitations, now - SMS_AGAIN_AFTER)
    backend = get_sms_backend()
    for invitation in invitations:
        if invitation.used_at or invitation.revoked_at or invitation.expires_at <= now:
            report.skipped_closed += 1
            continue
        if invitation.pk in texted:
            report.skipped_today += 1
            continue
        phone = invitation.person.phone
        if not phone:
            report.skipped_no_phone += 1
            continue
        code = unseal(invitation)
        if code is None:
            report.skipped_unreadable += 1
            continue
        limit = [sms_limit(invitation.organization)]
        wait = ratelimit.retry_after(limit, now)
        if wait is not None:
            report.skipped_limit += 1
            report.retry_after = wait
            continue
        ratelimit.count(limit, now)
        status, error = InvitationSms.Status.SENT, ""
        try:
            backend.send(phone, sms_text(invitation, code, base_url))
        except SmsError as failure:
            status, error = InvitationSms.Status.FAILED, _scrubbed(failure, code)
        InvitationSms.objects.create(
            invitation=invitation, phone=phone, sent_at=now, sent_by=by, status=status, error=error
        )
        texted.add(invitation.pk)  # the same invitation twice in one call is texted once
        if status == InvitationSms.Status.SENT:
            report.sent += 1
        else:
            report.failed += 1
    if report.sent or report.failed:
        record_audit(
            "invitation.sms",
            actor=by,
            organization=invitations[0].organization,
            sent=report.sent,
            failed=report.failed,
        )
    return report


@transaction.atomic
def reissue_invitation(invitation: PersonalInvitation, *, by: Person) -> PersonalInvitation:
    """A new code for the same person, role and child; the old code (a lost slip, a wrong
    number's SMS) stops working at once."""
    if not may_invite(by, invitation.organization, invitation.school_class):
        raise PermissionDenied(_("Приглашать могут администратор и классный руководитель."))
    locked = PersonalInvitation.objects.select_for_update().get(pk=invitation.pk)
    if locked.used_at is not None:
        raise ValidationError(
            _("Это приглашение уже использовано: заменять нечего."), code="invitation_used"
        )
    if locked.revoked_at is not None:
        raise ValidationError(
            _("Это приглашение уже заменено новым: обновите страницу."), code="invitation_revoked"
        )
    locked.revoked_at = timezone.now()
    locked.save(update_fields=["revoked_at"])
    [new] = issue_personal_invitations(
        invitation.organization,
        [
            InvitationEntry(
                person=invitation.person,
                role=invitation.role,
                school_class=invitation.school_class,
                child=invitation.child,
            )
        ],
        by=by,
    )
    record_audit(
        "invitation.reissued",
        actor=by,
        organization=invitation.organization,
        subject=invitation.person,
        role=invitation.role,
    )
    return new

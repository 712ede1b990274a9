"""Joining by a personal invitation: the roster's record becomes the account, or is merged
into the account the person already has. One transaction, the invitation's row locked.

Who may redeem: the record itself (its phone was set when the person first signed in with
a number that had no account: signin.verify_code(claim=...)), or an account whose record
never signed in (a teacher of the school who is also a parent, a parent known in another
school): the record is then merged into it (accounts.services.merge_roster_record). A
record someone already signed in as belongs to that person: anyone else is refused.
"""

import logging
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from parta.accounts.models import Person
from parta.accounts.services import check_mergeable, merge_roster_record, record_audit
from parta.invites.invitations import usable_invitation
from parta.invites.models import PersonalInvitation
from parta.invites.services import admit

logger = logging.getLogger("parta.invites")


def check_redeemable(invitation: PersonalInvitation, account: Person) -> None:
    """Refuse (ValidationError) an account that may not take this invitation; the pages ask
    before the confirm button is shown, redeem_personal_invitation again under the lock."""
    record = invitation.person
    if invitation.child_id is not None and invitation.child_id == account.pk:
        # Whatever browser opened a parent's slip, the child never becomes her own parent.
        raise ValidationError(
            _(
                "Это приглашение — для родителя ученика %(child)s, а вы вошли как сам ученик. "
                "Родитель должен открыть приглашение на своём телефоне и войти под своим "
                "номером."
            )
            % {"child": invitation.child},
            code="self_parent",
        )
    if record.pk != account.pk and (record.last_login is not None or not record.is_active):
        raise ValidationError(
            _(
                "Это приглашение принадлежит учётной записи другого человека: в неё уже "
                "входили с другого номера. Если приглашение ваше, войдите под тем номером; "
                "если нет — сообщите классному руководителю."
            ),
            code="another_account",
        )
    if record.pk != account.pk:
        check_mergeable(record, account)


@transaction.atomic
def redeem_personal_invitation(invitation_id: int, account: Person) -> PersonalInvitation:
    """`account` (signed in by phone) joins as the person the invitation names.

    Marks the invitation used by the account, merges the record into the account when they
    differ, then sends signals.admitted so the welcome adds the person to the school's
    chats. InvitationUsed or InvitationUnavailable when it no longer admits; ValidationError
    when the account may not take it (nothing is stored then).
    """
    now = timezone.now()
    invitation = usable_invitation(invitation_id, now=now, lock=True)
    record = invitation.person
    # The record's row may have changed since the page was shown (another tab signed in).
    record.refresh_from_db(fields=["last_login", "is_active", "phone"])
    check_redeemable(invitation, account)
    merged = record.pk != account.pk
    invitation.used_at = now
    invitation.used_by = account
    invitation.save(update_fields=["used_at", "used_by"])
    if merged:
        merge_roster_record(record, account, at=now)
    record_audit(
        "invitation.redeemed",
        actor=account,
        organization=invitation.organization,
        subject=account,
        invitation=invitation.pk,
        role=invitation.role,
        record=record.pk,
        merged=merged,
        phone=account.phone,
    )
    # The role, the student's class and the parent's child are the school's from the
    # roster; they are held from joining on (a record is nobody's teacher before), and
    # admit ends with the welcome (signals.admitted).
    admit(
        account,
        invitation.organization,
        invitation.role,
        school_class=invitation.school_class,
        child=invitation.child,
        granted_by=invitation.created_by,
        reason=_("Персональное приглашение №%(id)d") % {"id": invitation.pk},
    )
    logger.info(
        "Personal invitation %s used by person %s%s",
        invitation.pk,
        account.pk,
        f" (record {record.pk} merged)" if merged else "",
    )
    return invitation


@transaction.atomic
def follow_merge(record: Person, into: Person, *, at: datetime) -> None:
    """The record's other invitations still waiting go to the account it was merged into;
    one the account already holds for the same role (and child) revokes the record's."""
    waiting = {"used_at__isnull": True, "revoked_at__isnull": True}
    held = {
        (invitation.organization_id, invitation.role, invitation.child_id)
        for invitation in PersonalInvitation.objects.filter(person=into, **waiting)
    }
    for invitation in PersonalInvitation.objects.select_for_update().filter(
        person=record, **waiting
    ):
        if (invitation.organization_id, invitation.role, invitation.child_id) in held:
            invitation.revoked_at = at
            invitation.save(update_fields=["revoked_at"])
        else:
            invitation.person = into
            invitation.save(update_fields=["person"])


def on_person_merged(
    sender: object, record: Person, into: Person, at: datetime, **kwargs: object
) -> None:
    follow_merge(record, into, at=at)

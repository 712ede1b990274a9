"""Personal invitations: one per person of a school's roster, printed on a slip or texted.

A code is 10 letters and digits from an alphabet without look-alikes (no 0/O, 1/I/L, 2/Z,
5/S, 6/G, 8/B): 22¹⁰ ≈ 2.7·10¹³ codes, typed from paper in two groups («KMXT9-PACRD»).
Lookups are rate-limited like invite links, so guessing one of a district's 25,000 live
codes takes ~10⁹ tries. Like a link's token, only an HMAC finds the code; the code itself is
kept sealed with a key derived from SECRET_KEY so that a lost slip can be printed again.
"""

import base64
import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _

from parta.accounts.models import Person, Role
from parta.accounts.services import record_audit
from parta.invites.models import PersonalInvitation
from parta.invites.selectors import is_admin, leads_class
from parta.structure.models import Organization, SchoolClass
from parta.structure.selectors import academic_year_at

CODE_ALPHABET = "ACDEFHJKMNPRTUVWXY3479"
CODE_LENGTH = 10


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _i in range(CODE_LENGTH))


def clean_code(typed: str) -> str:
    """What a person typed or a QR carried, as stored: capitals, no spaces or dashes."""
    return "".join(ch for ch in typed.upper() if ch.isalnum())


def shown_code(code: str) -> str:
    """«KMXT9PACRD» → «KMXT9-PACRD»: two groups are easier to copy from paper."""
    half = len(code) // 2
    return f"{code[:half]}-{code[half:]}"


def code_hash(code: str) -> str:
    return salted_hmac("parta.invites.personal", clean_code(code), algorithm="sha256").hexdigest()


def _fernet() -> Fernet:
    key = hashlib.sha256(b"parta.invites.personal.seal:" + settings.SECRET_KEY.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(key))


def seal(code: str) -> str:
    return _fernet().encrypt(code.encode()).decode()


def unseal(invitation: PersonalInvitation) -> str | None:
    """The invitation's code, or None when SECRET_KEY changed since it was made."""
    try:
        return _fernet().decrypt(invitation.code_sealed.encode()).decode()
    except InvalidToken:
        return None


def join_path(code: str) -> str:
    """The address a slip's QR code opens: the code in the fragment, never in server logs."""
    return f"/p/#{code}"


def academic_year_end(organization: Organization, now: datetime) -> datetime:
    """The moment the current academic year's invitations stop working: 1 September of the
    next year, at midnight in the school's zone (a summer's import is for the coming year)."""
    zone = organization.district.region.zone
    year = academic_year_at(now, zone) + 1
    return datetime(year, 9, 1, tzinfo=zone)


@dataclass(frozen=True)
class InvitationEntry:
    """Whom to invite: a person of the roster in a role; a parent's child; the class shown."""

    person: Person
    role: str
    school_class: SchoolClass | None = None
    child: Person | None = None


def live(now: datetime) -> Q:
    return Q(used_at__isnull=True, revoked_at__isnull=True, expires_at__gt=now)


def may_invite(actor: Person, organization: Organization, school_class: SchoolClass | None) -> bool:
    """Admins invite anyone of their school; a class teacher the students and parents of
    their class (as with links)."""
    now = timezone.now()
    if is_admin(actor, organization, now):
        return True
    return school_class is not None and leads_class(actor, school_class, now)


@transaction.atomic
def issue_personal_invitations(
    organization: Organization, entries: Sequence[InvitationEntry], *, by: Person
) -> list[PersonalInvitation]:
    """Make the missing invitations for `entries`; a live one already made is kept (so
    issuing twice changes nothing) and returned with the new ones, in the entries' order."""
    now = timezone.now()
    for entry in entries:
        if entry.role == Role.ADMIN:
            raise ValidationError(_("Администраторов не приглашают по списку."), code="admin")
        if entry.role == Role.PARENT and entry.child is None:
            raise ValidationError(_("Приглашение родителя называет ребёнка."), code="no_child")
        if not may_invite(by, organization, entry.school_class):
            raise PermissionDenied(_("Приглашать могут администратор и классный руководитель."))
    existing = {
        (invitation.person_id, invitation.role, invitation.child_id): invitation
        for invitation in PersonalInvitation.objects.filter(
            live(now),
            organization=organization,
            person_id__in={entry.person.pk for entry in entries},
        )
    }
    expires_at = academic_year_end(organization, now)
    result: list[PersonalInvitation] = []
    new: list[PersonalInvitation] = []
    for entry in entries:
        key = (entry.person.pk, entry.role, entry.child.pk if entry.child else None)
        if key not in existing:
            code = new_code()
            existing[key] = PersonalInvitation(
                organization=organization,
                person=entry.person,
                role=entry.role,
                school_class=entry.school_class,
                child=entry.child,
                code_hash=code_hash(code),
                code_sealed=seal(code),
                created_by=by,
                created_at=now,
                expires_at=expires_at,
            )
            new.append(existing[key])
        result.append(existing[key])
    # An expired, unused one holds the unique slot: it is revoked as the new one is made.
    PersonalInvitation.objects.filter(
        organization=organization,
        person_id__in={invitation.person_id for invitation in new},
        used_at__isnull=True,
        revoked_at__isnull=True,
        expires_at__lte=now,
    ).update(revoked_at=now)
    PersonalInvitation.objects.bulk_create(new, batch_size=500)
    if new:
        record_audit("invitation.issued", actor=by, organization=organization, count=len(new))
    return result


class InvitationUnavailable(Exception):
    """Unknown or revoked: one answer, so a guess learns nothing."""

    def __init__(self) -> None:
        super().__init__(
            _(
                "Такого приглашения нет: проверьте код на листке. Если листок потерян, "
                "попросите новый у классного руководителя."
            )
        )


class InvitationUsed(Exception):
    """Used already: said plainly, so the family knows to sign in instead."""

    def __init__(self, invitation: PersonalInvitation) -> None:
        super().__init__(
            _(
                "Это приглашение уже использовано %(when)s. Если это были вы — просто войдите "
                "в Парту по номеру телефона. Если нет — сообщите классному руководителю."
            )
            % {
                "when": timezone.localtime(
                    invitation.used_at, invitation.organization.district.region.zone
                ).strftime("%d.%m.%Y")
            }
        )
        self.invitation = invitation


def usable(invitation: PersonalInvitation | None, now: datetime) -> PersonalInvitation:
    """`invitation` if it still admits; InvitationUsed, or InvitationUnavailable otherwise."""
    if invitation is None or invitation.revoked_at is not None:
        raise InvitationUnavailable
    if invitation.used_at is not None:
        raise InvitationUsed(invitation)
    if invitation.expires_at <= now:
        raise InvitationUnavailable
    return invitation


def _with_related() -> QuerySet[PersonalInvitation]:
    return PersonalInvitation.objects.select_related(
        "organization__district__region", "person", "school_class", "child"
    )


def invitation_by_code(code: str, *, now: datetime | None = None) -> PersonalInvitation:
    """The invitation a code opens; InvitationUsed, or InvitationUnavailable for anything else."""
    invitation = _with_related().filter(code_hash=code_hash(code)).first()
    return usable(invitation, now or timezone.now())


def usable_invitation(
    invitation_id: int, *, now: datetime | None = None, lock: bool = False
) -> PersonalInvitation:
    """The invitation a browser presented earlier (its id kept in the session), if it still
    admits; `lock` takes its row for the caller's transaction."""
    invitations = _with_related()
    if lock:
        invitations = invitations.select_for_update(of=("self",))
    return usable(invitations.filter(pk=invitation_id).first(), now or timezone.now())

"""Writes for joining: invite links, redeeming them, join requests, members. One transaction each.

Every function takes the acting person and checks their role at that moment
(parta.invites.selectors, which asks parta.accounts.selectors). Tokens are never logged
and never stored: only their HMAC (tokens.py).
"""

import logging
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from parta import ratelimit
from parta.accounts.models import Person, Role, RoleGrant
from parta.accounts.selectors import class_at, holds_role, require_admin, role_grants_held_at
from parta.accounts.services import (
    enrol_student,
    grant_role,
    link_parent,
    record_audit,
    remove_from_organization,
    revoke_role,
)
from parta.invites import tokens
from parta.invites.models import InviteLink, InviteRedemption, JoinRequest
from parta.invites.selectors import may_make_link, may_manage_link
from parta.invites.signals import admitted, rejected
from parta.ratelimit import Limit
from parta.structure.models import Organization, SchoolClass

logger = logging.getLogger("parta.invites")

DEFAULT_EXPIRY_DAYS = 7
MAX_EXPIRY_DAYS = 30
# The admin confirms these roles; the link may still be set otherwise when it is made.
APPROVAL_BY_DEFAULT = frozenset({Role.ADMIN, Role.TEACHER, Role.STAFF})
# Roles one may ask for in a request; admin rights come through the support desk.
REQUESTABLE_ROLES = (Role.TEACHER, Role.STAFF, Role.STUDENT, Role.PARENT)


class InviteUnavailable(Exception):
    """Unknown, expired, revoked or used-up: one answer for all, so nothing is revealed."""

    def __init__(self) -> None:
        super().__init__(
            _(
                "Ссылка-приглашение недействительна: она неверна, устарела, отозвана или уже "
                "использована нужное число раз. Попросите новую ссылку у того, кто вас пригласил."
            )
        )


class RateLimited(Exception):
    def __init__(self, retry_after: int) -> None:
        minutes = math.ceil(retry_after / 60)
        super().__init__(
            ngettext(
                "Слишком много попыток. Повторите через %(minutes)d минуту.",
                "Слишком много попыток. Повторите через %(minutes)d минут.",
                minutes,
            )
            % {"minutes": minutes}
        )
        self.retry_after = retry_after


def check_rate(action: str, ip: str, person: Person | None = None) -> None:
    """Count one `action` ("redeem", "request") from this IP and person; refuse over the limit."""
    now = timezone.now()
    limits = [
        Limit(
            f"parta:invites:{action}:ip:{ip}",
            settings.PARTA_INVITES_IP_LIMIT,
            settings.PARTA_INVITES_WINDOW,
        )
    ]
    if person is not None and person.is_authenticated:
        limits.append(
            Limit(
                f"parta:invites:{action}:person:{person.pk}",
                settings.PARTA_INVITES_PERSON_LIMIT,
                settings.PARTA_INVITES_WINDOW,
            )
        )
    wait = ratelimit.retry_after(limits, now)
    if wait is not None:
        logger.warning("Invites %s rate-limited from %s", action, ip)
        raise RateLimited(wait)
    ratelimit.count(limits, now)


# --- making and revoking links ----------------------------------------------------------


@dataclass(frozen=True)
class NewInvite:
    link: InviteLink
    token: str  # shown once, to the maker; never stored

    @property
    def path(self) -> str:
        return tokens.join_path(self.token)


@transaction.atomic
def create_invite(
    organization: Organization,
    role: str,
    *,
    actor: Person,
    school_class: SchoolClass | None = None,
    child: Person | None = None,
    expires_in_days: int = DEFAULT_EXPIRY_DAYS,
    max_uses: int | None = None,
    needs_approval: bool | None = None,
) -> NewInvite:
    """Make a link; admins for any role, a class teacher for students and parents of their class.

    A parent link names the child (it is made from the child's profile) and belongs to
    the child's current class.
    """
    now = timezone.now()
    if role not in Role.values:
        raise ValidationError(_("Неизвестная роль «%(role)s».") % {"role": role})
    if school_class is not None and school_class.organization_id != organization.pk:
        raise ValidationError(_("Класс из другой организации."))
    if role == Role.PARENT:
        if child is None:
            raise ValidationError(
                _("Ссылка для родителя делается из профиля ребёнка: укажите ученика.")
            )
        if not holds_role(child, organization, Role.STUDENT, now):
            raise ValidationError(
                _("%(person)s сейчас не ученик этой организации.") % {"person": child}
            )
        school_class = class_at(child, now)
    elif child is not None:
        raise ValidationError(_("Ребёнка указывают только в ссылке для родителя."))
    if role == Role.STUDENT and school_class is not None and school_class.is_staff_class:
        raise ValidationError(_("В класс учителей учеников не приглашают."))
    if not may_make_link(actor, organization, role, school_class, now):
        raise PermissionDenied(
            _(
                "Ссылки-приглашения делают администраторы организации, а классный руководитель — "
                "для учеников и родителей своего класса."
            )
        )
    if not 1 <= expires_in_days <= MAX_EXPIRY_DAYS:
        raise ValidationError(
            _("Срок действия ссылки — от 1 до %(max)d дней.") % {"max": MAX_EXPIRY_DAYS}
        )
    if max_uses is not None and max_uses < 1:
        raise ValidationError(_("Число использований — не меньше 1 (или без ограничения)."))
    approval = role in APPROVAL_BY_DEFAULT if needs_approval is None else needs_approval
    if role == Role.PARENT and not approval:
        # Whoever holds such a link becomes this child's parent: one link, one parent.
        if max_uses not in (None, 1):
            raise ValidationError(
                _(
                    "Ссылка для родителей без подтверждения — одноразовая: сделайте по ссылке "
                    "каждому родителю или включите подтверждение."
                ),
                code="parent_link_single_use",
            )
        max_uses = 1
    token = tokens.new_token()
    link = InviteLink.objects.create(
        organization=organization,
        role=role,
        school_class=school_class,
        child=child,
        token_hash=tokens.token_hash(token),
        token_hint=token[-4:],
        needs_approval=approval,
        max_uses=max_uses,
        expires_at=now + timedelta(days=expires_in_days),
        created_by=actor,
    )
    record_audit(
        "invite.created",
        actor=actor,
        organization=organization,
        subject=child,
        invite=link.pk,
        role=role,
        school_class=school_class.name if school_class else None,
        needs_approval=link.needs_approval,
        max_uses=max_uses,
        expires_at=link.expires_at.isoformat(),
    )
    logger.info("Invite link %s made by person %s", link.pk, actor.pk)
    return NewInvite(link=link, token=token)


@transaction.atomic
def revoke_invite(link: InviteLink, *, actor: Person) -> InviteLink:
    if not may_manage_link(actor, link, timezone.now()):
        raise PermissionDenied(
            _("Отозвать эту ссылку может её администратор или классный руководитель.")
        )
    if link.revoked_at is None:
        link.revoked_at = timezone.now()
        link.revoked_by = actor
        link.save(update_fields=["revoked_at", "revoked_by"])
        record_audit("invite.revoked", actor=actor, organization=link.organization, invite=link.pk)
        logger.info("Invite link %s revoked by person %s", link.pk, actor.pk)
    return link


# --- using links --------------------------------------------------------------------------


def _usable(link: InviteLink | None, now: datetime) -> InviteLink:
    if (
        link is None
        or link.revoked_at is not None
        or link.expires_at <= now
        or (link.max_uses is not None and link.uses >= link.max_uses)
        # A link dies with its maker's right to make it (a removed admin, a replaced class teacher).
        or not may_make_link(link.created_by, link.organization, link.role, link.school_class, now)
    ):
        raise InviteUnavailable
    return link


def invite_by_token(token: str, *, now: datetime | None = None) -> InviteLink:
    """The usable link for `token`, or InviteUnavailable whatever the reason."""
    link = (
        InviteLink.objects.select_related("organization", "school_class", "child", "created_by")
        .filter(token_hash=tokens.token_hash(token))
        .first()
    )
    return _usable(link, now or timezone.now())


def usable_invite(link_id: int, *, now: datetime | None = None) -> InviteLink:
    """The link a browser presented earlier (its id kept in the session), if still usable."""
    link = (
        InviteLink.objects.select_related("organization", "school_class", "child", "created_by")
        .filter(pk=link_id)
        .first()
    )
    return _usable(link, now or timezone.now())


def _check_not_own_parent(person: Person, child: Person | None) -> None:
    """Whatever browser session opened a parent link, the child never becomes their own parent."""
    if child is not None and child.pk == person.pk:
        raise ValidationError(
            _(
                "Эта ссылка — для родителей ученика %(child)s, а вы вошли как сам ученик. "
                "Родитель должен открыть ссылку на своём телефоне и войти под своим номером."
            )
            % {"child": child},
            code="self_parent",
        )


def admit(
    person: Person,
    organization: Organization,
    role: str,
    *,
    school_class: SchoolClass | None,
    child: Person | None,
    granted_by: Person | None,
    reason: str,
    approved: bool = False,
) -> None:
    """Give the role (unless held now), then the class for a student or the child for a
    parent, then the welcome (signals.admitted), all in the caller's transaction."""
    now = timezone.now()
    _check_not_own_parent(person, child)
    if not holds_role(person, organization, role, now):
        grant_role(person, organization, role, valid_from=now, granted_by=granted_by, reason=reason)
    if role == Role.STUDENT and school_class is not None and not school_class.is_staff_class:
        enrol_student(person, school_class, at=now)
    if role == Role.PARENT and child is not None:
        link_parent(person, child)
        record_audit(
            "parent.linked",
            actor=granted_by,
            organization=organization,
            subject=person,
            child=child.pk,
        )
    # Also when the role was held: a parent's second child brings that class's chats.
    admitted.send(
        sender=InviteLink, person=person, organization=organization, role=role, approved=approved
    )


@dataclass(frozen=True)
class Redemption:
    link: InviteLink
    joined: bool  # False: a join request waits for an admin
    join_request: JoinRequest | None = None


@transaction.atomic
def redeem_invite(link_id: int, person: Person) -> Redemption:
    """`person` joins through a link shown to them — or asks to, if it needs approval."""
    now = timezone.now()
    link = _usable(
        InviteLink.objects.select_for_update(of=("self",))
        .select_related("organization", "school_class", "child", "created_by")
        .filter(pk=link_id)
        .first(),
        now,
    )
    _check_not_own_parent(person, link.child)
    if InviteRedemption.objects.filter(invite=link, person=person).exists():
        raise ValidationError(_("Вы уже воспользовались этой ссылкой."), code="already_used")
    reason = _("Ссылка-приглашение №%(id)d") % {"id": link.pk}
    join_request = None
    if link.needs_approval:
        join_request = _new_request(
            person,
            link.organization,
            link.role,
            school_class=link.school_class,
            child=link.child,
            message=reason,
        )
    else:
        admit(
            person,
            link.organization,
            link.role,
            school_class=link.school_class,
            child=link.child,
            granted_by=link.created_by,
            reason=reason,
        )
    InviteRedemption.objects.create(invite=link, person=person, at=now, join_request=join_request)
    link.uses += 1
    link.save(update_fields=["uses"])
    record_audit(
        "invite.redeemed",
        actor=person,
        organization=link.organization,
        subject=person,
        invite=link.pk,
        role=link.role,
        pending_approval=link.needs_approval,
    )
    logger.info("Invite link %s used by person %s", link.pk, person.pk)
    return Redemption(link=link, joined=not link.needs_approval, join_request=join_request)


# --- join requests ------------------------------------------------------------------------


def _new_request(
    person: Person,
    organization: Organization,
    role: str,
    *,
    school_class: SchoolClass | None,
    child: Person | None = None,
    message: str = "",
) -> JoinRequest:
    now = timezone.now()
    if holds_role(person, organization, role, now) and child is None:
        raise ValidationError(
            _("У вас уже есть роль «%(role)s» в организации «%(org)s».")
            % {"role": Role(role).label, "org": organization},
            code="already_member",
        )
    if JoinRequest.objects.filter(
        person=person, organization=organization, role=role, status=JoinRequest.Status.PENDING
    ).exists():
        raise ValidationError(
            _("Ваша заявка в организацию «%(org)s» с ролью «%(role)s» уже ждёт решения.")
            % {"role": Role(role).label, "org": organization},
            code="already_pending",
        )
    join_request = JoinRequest.objects.create(
        person=person,
        organization=organization,
        role=role,
        school_class=school_class,
        child=child,
        message=message,
        created_at=now,
    )
    record_audit(
        "join_request.created",
        actor=person,
        organization=organization,
        subject=person,
        join_request=join_request.pk,
        role=role,
        school_class=school_class.name if school_class else None,
    )
    return join_request


@transaction.atomic
def request_to_join(
    person: Person,
    organization: Organization,
    role: str,
    *,
    school_class: SchoolClass | None = None,
    message: str = "",
) -> JoinRequest:
    """A signed-in person asks to join; an admin of the organization decides."""
    if role not in REQUESTABLE_ROLES:
        raise ValidationError(
            _("В заявке можно попросить роль: %(roles)s.")
            % {"roles": ", ".join(str(Role(r).label) for r in REQUESTABLE_ROLES)}
        )
    if school_class is not None and school_class.organization_id != organization.pk:
        raise ValidationError(_("Класс из другой организации."))
    if role == Role.STUDENT and school_class is not None and school_class.is_staff_class:
        raise ValidationError(_("В класс учителей учеников не зачисляют."))
    return _new_request(
        person, organization, role, school_class=school_class, message=message.strip()[:500]
    )


def _pending(join_request: JoinRequest) -> JoinRequest:
    locked = JoinRequest.objects.select_for_update().get(pk=join_request.pk)
    if locked.status != JoinRequest.Status.PENDING:
        raise ValidationError(
            _("По этой заявке уже принято решение: %(status)s.")
            % {"status": locked.get_status_display()},
            code="decided",
        )
    return locked


@transaction.atomic
def approve_request(join_request: JoinRequest, *, actor: Person) -> JoinRequest:
    require_admin(actor, join_request.organization)
    locked = _pending(join_request)
    admit(
        locked.person,
        locked.organization,
        locked.role,
        school_class=locked.school_class,
        child=locked.child,
        granted_by=actor,
        reason=_("Заявка №%(id)d") % {"id": locked.pk},
        approved=True,
    )
    locked.status = JoinRequest.Status.APPROVED
    locked.decided_at = timezone.now()
    locked.decided_by = actor
    locked.save(update_fields=["status", "decided_at", "decided_by"])
    record_audit(
        "join_request.approved",
        actor=actor,
        organization=locked.organization,
        subject=locked.person,
        join_request=locked.pk,
        role=locked.role,
    )
    return locked


@transaction.atomic
def reject_request(join_request: JoinRequest, *, actor: Person, reason: str) -> JoinRequest:
    require_admin(actor, join_request.organization)
    reason = reason.strip()
    if not reason:
        raise ValidationError(
            _("Укажите причину отказа — человек увидит её в своих заявках."), code="no_reason"
        )
    locked = _pending(join_request)
    locked.status = JoinRequest.Status.REJECTED
    locked.decided_at = timezone.now()
    locked.decided_by = actor
    locked.reason = reason[:500]
    locked.save(update_fields=["status", "decided_at", "decided_by", "reason"])
    record_audit(
        "join_request.rejected",
        actor=actor,
        organization=locked.organization,
        subject=locked.person,
        join_request=locked.pk,
        role=locked.role,
        reason=locked.reason,
    )
    rejected.send(sender=JoinRequest, join_request=locked)
    return locked


# --- members ------------------------------------------------------------------------------


@transaction.atomic
def add_role(person: Person, organization: Organization, role: str, *, actor: Person) -> None:
    """An admin's hand gives the role; the welcome follows as after joining."""
    require_admin(actor, organization)
    grant_role(person, organization, role, granted_by=actor, reason=_("Добавлена администратором"))
    admitted.send(sender=RoleGrant, person=person, organization=organization, role=role)


def _check_not_last_admin(person: Person, organization: Organization, now: datetime) -> None:
    admins = role_grants_held_at([organization.pk], [Role.ADMIN], now).exclude(person=person)
    if holds_role(person, organization, Role.ADMIN, now) and not admins.exists():
        raise ValidationError(
            _(
                "%(person)s — единственный администратор организации: без администратора "
                "организацией некому управлять. Сначала назначьте другого администратора."
            )
            % {"person": person},
            code="last_admin",
        )


@transaction.atomic
def remove_role(person: Person, organization: Organization, role: str, *, actor: Person) -> None:
    now = timezone.now()
    require_admin(actor, organization, now)
    if role == Role.ADMIN:
        _check_not_last_admin(person, organization, now)
    revoke_role(person, organization, role, revoked_by=actor, reason=_("Снята администратором"))


@transaction.atomic
def remove_member(person: Person, organization: Organization, *, actor: Person) -> None:
    """Close every role the person holds in the organization now (history is kept)."""
    now = timezone.now()
    require_admin(actor, organization, now)
    _check_not_last_admin(person, organization, now)
    closed = remove_from_organization(person, organization, removed_by=actor)
    if not closed:
        raise ValidationError(
            _("%(person)s сейчас не состоит в организации.") % {"person": person},
            code="not_member",
        )
    record_audit(
        "member.removed",
        actor=actor,
        organization=organization,
        subject=person,
        roles=sorted(grant.role for grant in closed),
    )

"""Invite links, who joined through them, and join requests (заявки)."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from parta.accounts.models import Role
from parta.structure.models import Organization, SchoolClass


class InviteLink(models.Model):
    """A private link that lets people join an organization in one role (and class).

    Only an HMAC of the token is stored (see tokens.py): a database dump gives no
    usable link, so the full link is shown once, when it is made.
    """

    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="invite_links"
    )
    role = models.CharField(_("роль"), max_length=16, choices=Role.choices)
    school_class = models.ForeignKey(
        SchoolClass,
        verbose_name=_("класс"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="invite_links",
    )
    # A parent link is made from the child's profile: whoever joins by it becomes their parent.
    child = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("ребёнок"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    token_hash = models.CharField(max_length=64, unique=True)
    # The last characters of the token, so people can tell their links apart in lists.
    token_hint = models.CharField(_("окончание ссылки"), max_length=8)
    needs_approval = models.BooleanField(_("нужно подтверждение администратора"), default=False)
    max_uses = models.PositiveIntegerField(_("не больше использований"), null=True, blank=True)
    uses = models.PositiveIntegerField(_("использований"), default=0)
    expires_at = models.DateTimeField(_("действует до"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("создана"), auto_now_add=True)
    revoked_at = models.DateTimeField(_("отозвана"), null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("ссылка-приглашение")
        verbose_name_plural = _("ссылки-приглашения")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(max_uses__isnull=True) | Q(max_uses__gte=1), name="invite_max_uses_1"
            ),
            models.CheckConstraint(
                condition=~Q(role=Role.PARENT) | Q(child__isnull=False),
                name="parent_invite_names_child",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.organization} — {self.get_role_display()} (…{self.token_hint})"


class InviteRedemption(models.Model):
    """One use of an invite link: who joined through it, and when."""

    invite = models.ForeignKey(InviteLink, on_delete=models.PROTECT, related_name="redemptions")
    person = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(_("когда"))
    join_request = models.OneToOneField(
        "JoinRequest", on_delete=models.PROTECT, null=True, blank=True, related_name="redemption"
    )

    class Meta:
        verbose_name = _("присоединение по ссылке")
        verbose_name_plural = _("присоединения по ссылкам")
        ordering = ["-at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["invite", "person"], name="one_redemption_per_person")
        ]

    def __str__(self) -> str:
        return f"{self.person} ← {self.invite}"


class JoinRequest(models.Model):
    """A person asks to join an organization in a role; an admin approves or rejects."""

    class Status(models.TextChoices):
        PENDING = "pending", _("ждёт решения")
        APPROVED = "approved", _("одобрена")
        REJECTED = "rejected", _("отклонена")

    person = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="join_requests"
    )
    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="join_requests"
    )
    role = models.CharField(_("роль"), max_length=16, choices=Role.choices)
    school_class = models.ForeignKey(
        SchoolClass, verbose_name=_("класс"), on_delete=models.PROTECT, null=True, blank=True
    )
    child = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("ребёнок"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    message = models.CharField(_("сообщение администратору"), max_length=500, blank=True)
    status = models.CharField(
        _("состояние"), max_length=16, choices=Status.choices, default=Status.PENDING
    )
    created_at = models.DateTimeField(_("подана"))
    decided_at = models.DateTimeField(_("решение принято"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    reason = models.CharField(_("причина отказа"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("заявка на вступление")
        verbose_name_plural = _("заявки на вступление")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["person", "organization", "role"],
                condition=Q(status="pending"),
                name="one_pending_request_per_role",
            ),
            models.CheckConstraint(
                condition=~Q(status="rejected") | ~Q(reason=""), name="rejection_has_reason"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.person} → {self.organization} ({self.get_role_display()})"


class PersonalInvitation(models.Model):
    """A single-use invitation for one person of a school's roster: printed on a slip or sent
    by SMS, it admits exactly that person record in that role (a parent's: to that child).

    The code is looked up by its HMAC (`code_hash`) like a link's token, and kept sealed
    (Fernet, keyed from SECRET_KEY) so that a lost slip can be printed again: a database dump
    alone opens no invitation.
    """

    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="personal_invitations"
    )
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="personal_invitations"
    )
    role = models.CharField(_("роль"), max_length=16, choices=Role.choices)
    # A student's class, or a parent's child's class: what the slip and the class page show.
    school_class = models.ForeignKey(
        SchoolClass, verbose_name=_("класс"), on_delete=models.PROTECT, null=True, blank=True
    )
    child = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("ребёнок"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    code_hash = models.CharField(max_length=64, unique=True)
    code_sealed = models.TextField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("создано"))
    expires_at = models.DateTimeField(_("действует до"))
    used_at = models.DateTimeField(_("использовано"), null=True, blank=True)
    # The account that joined: the roster's record, or the account it was merged into when
    # the phone already had one.
    used_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    revoked_at = models.DateTimeField(_("отозвано"), null=True, blank=True)

    class Meta:
        verbose_name = _("персональное приглашение")
        verbose_name_plural = _("персональные приглашения")
        ordering = ["organization_id", "school_class_id", "person_id", "id"]
        constraints = [
            # One live invitation per person and role (and child): issuing again is a no-op.
            models.UniqueConstraint(
                fields=["person", "organization", "role"],
                condition=Q(used_at__isnull=True, revoked_at__isnull=True, child__isnull=True),
                name="one_live_personal_invitation",
            ),
            models.UniqueConstraint(
                fields=["person", "organization", "role", "child"],
                condition=Q(used_at__isnull=True, revoked_at__isnull=True, child__isnull=False),
                name="one_live_personal_invitation_per_child",
            ),
            models.CheckConstraint(
                condition=~Q(role=Role.PARENT) | Q(child__isnull=False),
                name="parent_invitation_names_child",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.person} — {self.get_role_display()} ({self.organization})"


class InvitationSms(models.Model):
    """One SMS with a personal invitation: the log the admin sees and the once-a-day rule reads."""

    class Status(models.TextChoices):
        SENT = "sent", _("отправлено")
        FAILED = "failed", _("не отправлено")

    invitation = models.ForeignKey(
        PersonalInvitation, on_delete=models.PROTECT, related_name="sms_log"
    )
    phone = models.CharField(_("телефон"), max_length=20)
    sent_at = models.DateTimeField(_("когда"))
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    status = models.CharField(_("состояние"), max_length=16, choices=Status.choices)
    error = models.CharField(_("ошибка"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("СМС с приглашением")
        verbose_name_plural = _("СМС с приглашениями")
        ordering = ["-sent_at", "-id"]
        indexes = [models.Index(fields=["invitation", "sent_at"])]

    def __str__(self) -> str:
        return f"{self.invitation} {self.sent_at:%Y-%m-%d %H:%M} {self.status}"

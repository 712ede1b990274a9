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

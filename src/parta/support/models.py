import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from parta.structure.models import Organization


class AdminChangeRequest(models.Model):
    """A school asks the operator to replace its administrator (the letter's «Помощь» route)."""

    class Status(models.TextChoices):
        NEW = "new", _("новая")
        IN_PROGRESS = "in_progress", _("в работе")
        APPROVED = "approved", _("одобрена")
        REJECTED = "rejected", _("отклонена")

    OPEN = (Status.NEW, Status.IN_PROGRESS)

    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="admin_change_requests"
    )
    filed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("подал"),
        on_delete=models.PROTECT,
        related_name="admin_change_requests",
    )
    filed_at = models.DateTimeField(_("подана"))
    new_admin_full_name = models.CharField(_("ФИО нового администратора"), max_length=300)
    new_admin_phone = models.CharField(_("мобильный телефон нового администратора"), max_length=20)
    admins_to_remove = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("снимаемые администраторы"),
        blank=True,
        related_name="+",
    )
    status = models.CharField(
        _("состояние"), max_length=16, choices=Status.choices, default=Status.NEW
    )
    taken_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    taken_at = models.DateTimeField(_("взята в работу"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(_("решение принято"), null=True, blank=True)
    reason = models.CharField(_("причина отказа"), max_length=1000, blank=True)

    class Meta:
        verbose_name = _("заявка на смену администратора")
        verbose_name_plural = _("заявки на смену администратора")
        ordering = ["-filed_at", "-id"]
        constraints = [
            # Two open requests for one school would contradict each other.
            models.UniqueConstraint(
                fields=["organization"],
                condition=Q(status__in=["new", "in_progress"]),
                name="one_open_admin_change_per_organization",
            ),
            models.CheckConstraint(
                condition=~Q(status="rejected") | ~Q(reason=""),
                name="admin_change_rejection_has_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"№{self.pk} {self.organization}: {self.new_admin_full_name}"

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN


def document_path(document: "AdminChangeDocument", filename: str) -> str:
    # The stored name never comes from the filer: only the checked extension does.
    return f"support/{document.request_id}/{uuid.uuid4().hex}{document.extension}"


class AdminChangeDocument(models.Model):
    """The official letter or the head's order attached to a request."""

    class Kind(models.TextChoices):
        LETTER = "letter", _("официальное письмо")
        ORDER = "order", _("приказ руководителя")

    request = models.ForeignKey(
        AdminChangeRequest, on_delete=models.PROTECT, related_name="documents"
    )
    kind = models.CharField(_("документ"), max_length=10, choices=Kind.choices)
    content_type = models.CharField(max_length=100)
    extension = models.CharField(max_length=10)
    original_name = models.CharField(_("имя файла"), max_length=255)
    size = models.PositiveBigIntegerField(_("размер, байт"))
    file = models.FileField(upload_to=document_path, max_length=300)

    class Meta:
        verbose_name = _("документ заявки")
        verbose_name_plural = _("документы заявок")
        ordering = ["request_id", "kind"]
        constraints = [
            models.UniqueConstraint(fields=["request", "kind"], name="one_document_of_each_kind")
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.original_name}"

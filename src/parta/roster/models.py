"""A school's list of people as uploaded: kept until confirmed, so the confirmation applies
exactly the file the admin previewed (and the history shows which file did what)."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from parta.structure.models import Organization


class RosterImport(models.Model):
    class Status(models.TextChoices):
        PREVIEWED = "previewed", _("просмотрен")
        CONFIRMED = "confirmed", _("загружен")

    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="roster_imports"
    )
    file_name = models.CharField(_("файл"), max_length=255)
    sha256 = models.CharField(max_length=64, db_index=True)
    content = models.BinaryField()
    create_classes = models.BooleanField(_("создать недостающие классы"), default=False)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    uploaded_at = models.DateTimeField(_("загружен"))
    status = models.CharField(
        _("состояние"), max_length=16, choices=Status.choices, default=Status.PREVIEWED
    )
    confirmed_at = models.DateTimeField(_("подтверждён"), null=True, blank=True)
    # What the confirmation did, counted (RosterPlan.summary): the history of the school's lists.
    summary = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = _("загрузка списка школы")
        verbose_name_plural = _("загрузки списков школ")
        ordering = ["-uploaded_at", "-id"]

    def __str__(self) -> str:
        return f"{self.organization} — {self.file_name} ({self.uploaded_at:%Y-%m-%d %H:%M})"

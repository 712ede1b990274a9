from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from parta.structure.models import Organization


class WeeklyMessageTally(models.Model):
    """How many non-service messages a person wrote in an organization's conversations in a week.

    Kept up to date inside the transaction that stores the messages (monitoring.tallies),
    so the region report does not rescan millions of messages. It counts every
    message whatever the author's role; the engine applies the role rules.
    `parta check-counts` and the tests prove it equals a recount.
    """

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    person = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    week_monday = models.DateField(_("понедельник недели"))
    messages = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "week_monday", "person"], name="tally_key"
            )
        ]

    def __str__(self) -> str:
        return f"{self.organization_id}/{self.person_id}/{self.week_monday}: {self.messages}"


class ReportAccess(models.Model):
    """Each view of a report: who, which scope, which week, when (personal-data law)."""

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    channel = models.CharField(max_length=16)  # api, page, csv, xlsx, cli
    scope = models.CharField(max_length=200)
    week = models.CharField(max_length=8)

    class Meta:
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.person_id} {self.channel} {self.scope} {self.week}"


class DigestDelivery(models.Model):
    """One weekly digest to one admin of one school: the row is the right to send it.

    It is written (unique per organization, recipient and week) in the same transaction
    as the Parta message, before the email goes out, so a second run of the job, or a
    second worker running it at the same moment, finds the row and sends nothing.
    """

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    week = models.CharField(_("неделя"), max_length=8)  # "2026-W47"
    created_at = models.DateTimeField(_("создано"))
    message = models.ForeignKey(
        "messaging.Message", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    emailed_to = models.EmailField(_("отправлено на адрес"), blank=True)
    emailed_at = models.DateTimeField(_("письмо отправлено"), null=True, blank=True)
    email_error = models.CharField(_("ошибка отправки письма"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("еженедельная сводка")
        verbose_name_plural = _("еженедельные сводки")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "recipient", "week"], name="digest_once_per_week"
            )
        ]

    def __str__(self) -> str:
        return f"{self.week} {self.organization_id} → {self.recipient_id}"

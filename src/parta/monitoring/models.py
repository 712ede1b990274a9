from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from parta.structure.models import Organization


class WeeklyMessageTally(models.Model):
    """How many non-service messages a person wrote in an organization's conversations in a week.

    Kept up to date inside the transaction that stores the messages (monitoring.tallies),
    so the region report does not rescan millions of messages. It counts every
    message whatever the author's role; the engine applies the role rules.
    `parta check-tallies` and the tests prove it equals a recount.
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

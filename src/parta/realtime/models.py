"""Each person's event log: what their open tabs are told, numbered so nothing is lost."""

from datetime import datetime

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils.translation import gettext_lazy as _


class EventCursor(models.Model):
    """The last sequence number handed out to a person (see services.publish)."""

    person = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    last_seq = models.PositiveBigIntegerField(default=0)

    class Meta:
        verbose_name = _("счётчик событий")
        verbose_name_plural = _("счётчики событий")

    def __str__(self) -> str:
        return f"{self.person_id}: {self.last_seq}"


class PersonEvent(models.Model):
    person = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    seq = models.PositiveBigIntegerField(_("номер"))
    kind = models.CharField(_("вид"), max_length=64)
    payload = models.JSONField(_("данные"), default=dict, encoder=DjangoJSONEncoder)
    created_at = models.DateTimeField(_("создано"), db_index=True)

    class Meta:
        verbose_name = _("событие")
        verbose_name_plural = _("события")
        ordering = ["person_id", "seq"]
        # The unique constraint's index also serves "this person's events after seq N".
        constraints = [
            models.UniqueConstraint(fields=["person", "seq"], name="person_event_seq_unique")
        ]

    def __str__(self) -> str:
        return f"{self.person_id}#{self.seq} {self.kind}"

    def as_message(self) -> dict[str, object]:
        return self.message(self.seq, self.kind, self.payload, self.created_at)

    @staticmethod
    def message(seq: int, kind: str, payload: dict, at: datetime) -> dict[str, object]:
        """An event as it travels: through the channel layer, the socket and the API."""
        return {"type": "event", "seq": seq, "kind": kind, "payload": payload, "at": at.isoformat()}


class PendingFanout(models.Model):
    """An event for an audience too large to number inside the sender's transaction
    (services.publish): the fan-out thread numbers it after the commit, a chunk of people
    per transaction, and `done` says how far it got, so a crash repeats nobody's event."""

    kind = models.CharField(_("вид"), max_length=64)
    # What the event is about (services.publish): later events of the stream wait behind it.
    stream = models.CharField(_("поток"), max_length=64, null=True, blank=True)
    payload = models.JSONField(_("данные"), default=dict, encoder=DjangoJSONEncoder)
    # Person ids in ascending order, read when the event was published.
    people = models.JSONField(_("кому"))
    done = models.PositiveIntegerField(_("разослано"), default=0)
    created_at = models.DateTimeField(_("создано"))

    class Meta:
        verbose_name = _("рассылка события")
        verbose_name_plural = _("рассылки событий")

    def __str__(self) -> str:
        return f"{self.kind}: {self.done}/{len(self.people)}"

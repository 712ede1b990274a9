from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from parta.messaging.models import Conversation
from parta.structure.models import Organization


class Call(models.Model):
    # A broadcast (трансляция) is a Call of its own kind rather than a model of its own: it
    # needs the same stays, signaling socket, Janus room, announcement and sweep, and differs
    # only in who may publish (its presenters) and in how reports count it (never as a call:
    # docs/indicators.md). Each query that means calls says kind=CALL (selectors.held_calls).
    class Kind(models.TextChoices):
        CALL = "call", _("звонок")
        BROADCAST = "broadcast", _("трансляция")

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="calls")
    conversation = models.ForeignKey(
        Conversation, on_delete=models.PROTECT, null=True, blank=True, related_name="calls"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="calls_created"
    )
    created_at = models.DateTimeField(_("создан"))
    ended_at = models.DateTimeField(_("завершён"), null=True, blank=True)
    external_id = models.CharField(max_length=100, unique=True, null=True, blank=True)
    title = models.CharField(_("тема"), max_length=200, blank=True)
    # The HMAC of the invite link's token (calls.tokens); the token itself is never stored.
    link_hash = models.CharField(max_length=64, unique=True, null=True, blank=True)
    allow_anonymous = models.BooleanField(_("гости без входа"), default=False)
    audio_only = models.BooleanField(_("только звук"), default=False)
    # The first moment two different people were in the call at once; empty = not held.
    # Kept by calls.services.refresh_held whenever stays are written, so reports need not
    # compare every pair of stays (calls.selectors.first_held_moments states the rule).
    held_at = models.DateTimeField(_("проведён"), null=True, blank=True, editable=False)
    # The media path now (calls.media): "mesh" between the browsers, or "janus" through the
    # SFU. A mesh call moves to Janus once it outgrows the mesh; it never moves back.
    media = models.CharField(
        _("медиа"),
        max_length=10,
        choices=[("mesh", _("напрямую")), ("janus", "Janus")],
        default="mesh",
    )
    kind = models.CharField(_("вид"), max_length=10, choices=Kind.choices, default=Kind.CALL)
    # A broadcast's presenters (its starter and the co-presenters they chose): the only ones
    # whose Janus token may publish. Empty for a call.
    presenters = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="broadcasts_presented"
    )

    class Meta:
        verbose_name = _("звонок")
        verbose_name_plural = _("звонки")
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["organization", "created_at"], name="call_org_week"),
            # The minutely sweep looks for calls left empty among those not ended.
            models.Index(
                fields=["created_at"], condition=Q(ended_at__isnull=True), name="call_open"
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} @ {self.created_at:%Y-%m-%d %H:%M}"


class CallParticipation(models.Model):
    """One stay of a person in a call, [joined_at, left_at); left_at empty = still there."""

    call = models.ForeignKey(Call, on_delete=models.CASCADE, related_name="participations")
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="call_participations"
    )
    joined_at = models.DateTimeField()
    left_at = models.DateTimeField(null=True, blank=True)
    # The last heartbeat of the person's open tabs; empty for stays imported from elsewhere,
    # which the sweep leaves alone.
    last_seen_at = models.DateTimeField(null=True, blank=True)
    # Open signaling connections (tabs) of this stay; the stay ends when the last one closes.
    connections = models.PositiveSmallIntegerField(default=0)
    removed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("участие в звонке")
        verbose_name_plural = _("участие в звонках")
        ordering = ["call_id", "joined_at", "id"]
        # The minutely sweep looks for silent stays among the open ones only.
        indexes = [
            models.Index(
                fields=["last_seen_at"], condition=Q(left_at__isnull=True), name="stay_open"
            )
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["call", "person", "joined_at"], name="participation_key"
            ),
            models.CheckConstraint(
                condition=Q(left_at__isnull=True) | Q(left_at__gte=F("joined_at")),
                name="participation_left_after_joined",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.person_id} in call {self.call_id} from {self.joined_at:%Y-%m-%d %H:%M}"


class CallGuest(models.Model):
    """One stay of an anonymous guest (joined by link, not signed in): a name, no Person.

    Recorded for the call's history, never read by the held-call rule: a guest cannot be told
    apart from anyone else (the creator in a second tab), so guests are not "different people".
    """

    call = models.ForeignKey(Call, on_delete=models.CASCADE, related_name="guests")
    # A random key kept in the guest's session: a removed guest's browser is refused again.
    key = models.CharField(max_length=32)
    display_name = models.CharField(_("имя"), max_length=100)
    joined_at = models.DateTimeField()
    left_at = models.DateTimeField(null=True, blank=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    removed = models.BooleanField(default=False)

    class Meta:
        verbose_name = _("гость звонка")
        verbose_name_plural = _("гости звонков")
        ordering = ["call_id", "joined_at", "id"]
        indexes = [
            models.Index(fields=["call", "key"]),
            models.Index(
                fields=["last_seen_at"], condition=Q(left_at__isnull=True), name="guest_open"
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(left_at__isnull=True) | Q(left_at__gte=F("joined_at")),
                name="guest_left_after_joined",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.display_name} in call {self.call_id} from {self.joined_at:%Y-%m-%d %H:%M}"


class MediaConnection(models.Model):
    """A person's media connection to the call's Janus room, [joined_at, left_at), as
    Janus's event handler reported it. Each one is a connection of the person's stay
    (CallParticipation.connections), like a signaling tab: the stay lasts while either is
    open, so it ends even when the browser never says goodbye (Janus drops it)."""

    call = models.ForeignKey(Call, on_delete=models.CASCADE, related_name="media_connections")
    person = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    feed = models.BigIntegerField()  # the VideoRoom's publisher id
    session = models.BigIntegerField()  # Janus's session and handle
    handle = models.BigIntegerField()
    joined_at = models.DateTimeField()
    left_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("медиасоединение звонка")
        verbose_name_plural = _("медиасоединения звонков")
        ordering = ["call_id", "joined_at", "id"]
        indexes = [models.Index(fields=["handle"]), models.Index(fields=["session"])]
        constraints = [
            models.UniqueConstraint(fields=["call", "feed"], name="media_connection_feed"),
        ]

    def __str__(self) -> str:
        return f"{self.person_id} on Janus in call {self.call_id} (feed {self.feed})"


class MediaEvent(models.Model):
    """An event of Janus's event handler already applied: a repeated delivery (Janus retries
    a post it thinks failed) changes nothing. The id is the SHA-256 of the event as sent."""

    event_id = models.CharField(max_length=64, unique=True)
    received_at = models.DateTimeField()

    class Meta:
        verbose_name = _("событие Janus")
        verbose_name_plural = _("события Janus")

    def __str__(self) -> str:
        return self.event_id

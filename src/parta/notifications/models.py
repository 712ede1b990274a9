"""A person's push subscriptions (one per browser) and their own notification settings.
Nothing here is read by monitoring: what a person mutes changes no count."""

from datetime import time

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from parta.messaging.models import Conversation


class PushSubscription(models.Model):
    """A browser's PushSubscription: where to post, and the keys to encrypt for it."""

    person = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="push_subscriptions"
    )
    # The push service's URL is the subscription's identity: a browser has one per site.
    endpoint = models.CharField(max_length=1000, unique=True)
    p256dh = models.CharField(max_length=200)
    auth = models.CharField(max_length=100)
    device = models.CharField(_("устройство"), max_length=200, blank=True)
    created_at = models.DateTimeField()
    last_success_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("подписка на push-уведомления")
        verbose_name_plural = _("подписки на push-уведомления")

    def __str__(self) -> str:
        return self.device or self.endpoint[:60]


class NotificationSettings(models.Model):
    """A person's quiet hours, in the time zone of the chat's school: pushes then come
    without sound (the payload says silent), unread counts rise as usual."""

    person = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="notification_settings",
    )
    quiet_hours = models.BooleanField(_("тихие часы"), default=True)
    quiet_from = models.TimeField(_("тихо с"), default=time(21, 0))
    quiet_until = models.TimeField(_("тихо до"), default=time(7, 0))
    # Off by default: an email about a chat only for someone who asked for it.
    email_fallback = models.BooleanField(_("письма о непрочитанных без push"), default=False)

    class Meta:
        verbose_name = _("настройки уведомлений")
        verbose_name_plural = _("настройки уведомлений")

    def __str__(self) -> str:
        return str(self.person_id)


class ChatNotificationSettings(models.Model):
    """A person's settings for one chat: muted (for good or until a time), or only replies
    to their messages and announcements (posts by the chat's owner, authors, moderators)."""

    person = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="+")
    muted = models.BooleanField(_("без уведомлений"), default=False)
    muted_until = models.DateTimeField(_("без уведомлений до"), null=True, blank=True)
    replies_and_announcements_only = models.BooleanField(
        _("только ответы мне и объявления"), default=False
    )

    class Meta:
        verbose_name = _("настройки уведомлений чата")
        verbose_name_plural = _("настройки уведомлений чатов")
        constraints = [
            models.UniqueConstraint(
                fields=["person", "conversation"], name="chat_notification_settings_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.person_id}/{self.conversation_id}"


class ChatEmail(models.Model):
    """The email fallback's state for one person and chat: since when a message waits for
    an email (empty: none waits), when the last one went and up to which message. Claiming
    the row with one conditional UPDATE is what makes a retried or doubled job send a
    chat-hour once."""

    person = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="+")
    pending_since = models.DateTimeField(null=True, blank=True)
    last_emailed_at = models.DateTimeField(null=True, blank=True)
    # The newest message an email has told of: a retried job for it marks nothing again.
    emailed_up_to = models.PositiveBigIntegerField(default=0)

    class Meta:
        verbose_name = _("письмо о непрочитанных")
        verbose_name_plural = _("письма о непрочитанных")
        constraints = [
            models.UniqueConstraint(fields=["person", "conversation"], name="chat_email_unique")
        ]
        # The periodic scan reads only the rows that wait; most rows wait for nothing.
        indexes = [
            models.Index(
                fields=["pending_since"],
                condition=models.Q(pending_since__isnull=False),
                name="chat_email_pending",
            )
        ]

    def __str__(self) -> str:
        return f"{self.person_id}/{self.conversation_id}"

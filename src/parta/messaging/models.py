import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from parta.structure.models import Organization, SchoolClass


class Conversation(models.Model):
    class Kind(models.TextChoices):
        CHAT = "chat", _("чат")
        CHANNEL = "channel", _("канал")

    class Purpose(models.TextChoices):
        CLASS = "class", _("чат класса")
        PARENTS = "parents", _("чат с родителями")
        STAFF = "staff", _("чат сотрудников")
        OTHER = "other", _("другой")
        DIRECT = "direct", _("личная переписка")
        INFO = "info", _("общешкольный канал")
        # A person's own notices from Parta (weekly digests): nobody else may join.
        NOTICES = "notices", _("личные уведомления")

    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="conversations"
    )
    kind = models.CharField(_("вид"), max_length=10, choices=Kind.choices, default=Kind.CHAT)
    title = models.CharField(_("название"), max_length=200)
    purpose = models.CharField(
        _("назначение"), max_length=10, choices=Purpose.choices, default=Purpose.OTHER
    )
    school_class = models.ForeignKey(
        SchoolClass, on_delete=models.PROTECT, null=True, blank=True, related_name="conversations"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="conversations_created"
    )
    created_at = models.DateTimeField(_("создан"), db_index=True)
    deleted_at = models.DateTimeField(_("удалён"), null=True, blank=True)
    is_read_only = models.BooleanField(_("только чтение"), default=False)
    external_id = models.CharField(max_length=100, unique=True, null=True, blank=True)

    class Meta:
        verbose_name = _("беседа")
        verbose_name_plural = _("беседы")
        ordering = ["organization_id", "created_at", "id"]
        indexes = [models.Index(fields=["organization", "kind", "created_at"])]

    def __str__(self) -> str:
        return self.title


class ConversationMember(models.Model):
    class Role(models.TextChoices):
        MEMBER = "member", _("участник")
        MODERATOR = "moderator", _("модератор")
        AUTHOR = "author", _("автор канала")
        OWNER = "owner", _("владелец")

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="members")
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="conversation_memberships"
    )
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    joined_at = models.DateTimeField()
    left_at = models.DateTimeField(null=True, blank=True)
    # Message ids only grow, so "read up to id N" is the whole read state of a person.
    read_up_to = models.PositiveBigIntegerField(default=0)
    # Pinned to the top of this person's own chat list (most recently pinned first).
    pinned_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("участник беседы")
        verbose_name_plural = _("участники бесед")
        constraints = [
            models.UniqueConstraint(
                fields=["conversation", "person"],
                condition=Q(left_at__isnull=True),
                name="one_open_membership",
            )
        ]
        indexes = [models.Index(fields=["person", "left_at"])]

    def __str__(self) -> str:
        return f"{self.person_id} in {self.conversation_id} ({self.role})"


class Message(models.Model):
    # The three foreign keys lead the composite indexes below, which serve their lookups;
    # single-column indexes would only slow down every write and import.
    conversation = models.ForeignKey(
        Conversation, on_delete=models.PROTECT, related_name="messages", db_index=False
    )
    # Denormalised from the conversation (which never changes organization) so that
    # "messages of an organization in a week" is one index range.
    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="messages_written",
        db_index=False,
    )
    written_at = models.DateTimeField(_("написано"))
    text = models.TextField(_("текст"), blank=True)
    edited_at = models.DateTimeField(_("изменено"), null=True, blank=True)
    deleted_at = models.DateTimeField(_("удалено"), null=True, blank=True)
    is_service = models.BooleanField(_("служебное"), default=False)
    # Why a service notice was written (joined, left, call started); empty for messages.
    service_kind = models.CharField(max_length=20, blank=True)
    # Partial indexes below: most messages are neither deleted nor replies, and an imported
    # history of millions then writes no entry in either.
    deleted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    pinned_at = models.DateTimeField(_("закреплено"), null=True, blank=True)
    reply_to = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="replies",
        db_index=False,
    )
    idempotency_key = models.CharField(max_length=64, null=True, blank=True)
    # Unique by a constraint, not unique=True: on PostgreSQL that would add a second index
    # (varchar_pattern_ops, for LIKE) that nothing here uses.
    external_id = models.CharField(max_length=100, null=True, blank=True)

    class Meta:
        verbose_name = _("сообщение")
        verbose_name_plural = _("сообщения")
        ordering = ["written_at", "id"]
        indexes = [
            models.Index(fields=["organization", "written_at", "author"], name="message_org_week"),
            # Covers the engine's read of a teacher whose role changes mid-week.
            models.Index(
                fields=["author", "written_at", "organization", "is_service"],
                name="message_author_time",
            ),
            models.Index(fields=["conversation", "written_at"], name="message_conversation_time"),
            models.Index(
                fields=["reply_to"], condition=Q(reply_to__isnull=False), name="message_reply_to"
            ),
            models.Index(
                fields=["deleted_by"],
                condition=Q(deleted_by__isnull=False),
                name="message_deleted_by",
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["author", "idempotency_key"],
                condition=Q(idempotency_key__isnull=False),
                name="message_idempotency_key_unique",
            ),
            models.UniqueConstraint(fields=["external_id"], name="message_external_id_unique"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} @ {self.written_at:%Y-%m-%d %H:%M}"


def attachment_path(attachment: "Attachment", filename: str) -> str:
    # The stored name never comes from the sender: only the checked extension does.
    return f"attachments/{attachment.conversation_id}/{uuid.uuid4().hex}{attachment.extension}"


def preview_path(attachment: "Attachment", filename: str) -> str:
    return f"attachments/{attachment.conversation_id}/{uuid.uuid4().hex}.preview.jpg"


class Attachment(models.Model):
    """A file uploaded into a conversation, then sent with one message."""

    class Kind(models.TextChoices):
        IMAGE = "image", _("изображение")
        DOCUMENT = "document", _("документ")

    conversation = models.ForeignKey(
        Conversation, on_delete=models.PROTECT, related_name="attachments"
    )
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    message = models.ForeignKey(
        Message, on_delete=models.PROTECT, null=True, blank=True, related_name="attachments"
    )
    kind = models.CharField(max_length=10, choices=Kind.choices)
    content_type = models.CharField(max_length=100)
    extension = models.CharField(max_length=10)
    original_name = models.CharField(_("имя файла"), max_length=255)
    size = models.PositiveBigIntegerField(_("размер, байт"))
    file = models.FileField(upload_to=attachment_path, max_length=300)
    preview = models.FileField(upload_to=preview_path, max_length=300, blank=True)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    uploaded_at = models.DateTimeField()

    class Meta:
        verbose_name = _("вложение")
        verbose_name_plural = _("вложения")
        ordering = ["uploaded_at", "id"]

    def __str__(self) -> str:
        return self.original_name

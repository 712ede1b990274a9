"""Writes about conversations and messages. Each function is one transaction."""

from collections.abc import Iterable
from datetime import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from parta.accounts.models import Person
from parta.accounts.selectors import roles_at
from parta.messaging.models import Conversation, ConversationMember, Message
from parta.messaging.signals import messages_written
from parta.structure.models import Organization, SchoolClass

MAX_MESSAGE_LENGTH = 10_000


@transaction.atomic
def create_conversation(
    creator: Person,
    organization: Organization,
    *,
    title: str,
    kind: str = Conversation.Kind.CHAT,
    purpose: str = Conversation.Purpose.OTHER,
    school_class: SchoolClass | None = None,
    members: Iterable[Person] = (),
    at: datetime | None = None,
) -> Conversation:
    """A chat or channel of `organization`; the creator must hold a role there now."""
    moment = at or timezone.now()
    if not roles_at(creator, organization, moment):
        raise PermissionDenied(_("Создавать беседы могут только участники организации."))
    if not title.strip():
        raise ValidationError(_("У беседы должно быть название."))
    if kind not in Conversation.Kind.values or purpose not in Conversation.Purpose.values:
        raise ValidationError(_("Неизвестный вид или назначение беседы."))
    if school_class is not None and school_class.organization_id != organization.pk:
        raise ValidationError(_("Класс принадлежит другой организации."))
    conversation = Conversation.objects.create(
        organization=organization,
        kind=kind,
        title=title.strip(),
        purpose=purpose,
        school_class=school_class,
        created_by=creator,
        created_at=moment,
    )
    owner_role = ConversationMember.Role.OWNER
    ConversationMember.objects.create(
        conversation=conversation, person=creator, role=owner_role, joined_at=moment
    )
    ConversationMember.objects.bulk_create(
        ConversationMember(conversation=conversation, person=person, joined_at=moment)
        for person in {p.pk: p for p in members if p.pk != creator.pk}.values()
    )
    return conversation


def is_member(person: Person, conversation: Conversation) -> bool:
    return ConversationMember.objects.filter(
        conversation=conversation, person=person, left_at__isnull=True
    ).exists()


@transaction.atomic
def send_message(
    author: Person,
    conversation: Conversation,
    text: str,
    *,
    idempotency_key: str | None = None,
    reply_to: Message | None = None,
    is_service: bool = False,
    at: datetime | None = None,
) -> Message:
    """Store a message; a repeated idempotency key returns the message stored the first time."""
    if idempotency_key:
        existing = Message.objects.filter(author=author, idempotency_key=idempotency_key).first()
        if existing is not None:
            return existing
    moment = at or timezone.now()
    if conversation.deleted_at is not None and conversation.deleted_at <= moment:
        raise ValidationError(_("Беседа удалена."))
    if not is_member(author, conversation):
        raise PermissionDenied(_("Писать в беседу могут только её участники."))
    if not is_service and not text.strip():
        raise ValidationError(_("Пустое сообщение не отправляется."))
    if len(text) > MAX_MESSAGE_LENGTH:
        raise ValidationError(
            _("Сообщение длиннее %(n)s знаков; разделите его.") % {"n": MAX_MESSAGE_LENGTH}
        )
    if reply_to is not None and reply_to.conversation_id != conversation.pk:
        raise ValidationError(_("Ответить можно только на сообщение из этой же беседы."))
    try:
        with transaction.atomic():
            message = Message.objects.create(
                conversation=conversation,
                organization_id=conversation.organization_id,
                author=author,
                written_at=moment,
                text=text,
                is_service=is_service,
                reply_to=reply_to,
                idempotency_key=idempotency_key or None,
            )
    except IntegrityError:
        # The same key raced in from another tab and won: that one is the message.
        return Message.objects.get(author=author, idempotency_key=idempotency_key)
    messages_written.send(sender=Message, messages=[message])
    return message


@transaction.atomic
def delete_message(message: Message, *, by: Person, at: datetime | None = None) -> Message:
    """Soft deletion: the message shows as deleted; the week's counts keep it (spec)."""
    if message.author_id != by.pk:
        raise PermissionDenied(_("Удалить сообщение может только его автор."))
    if message.deleted_at is None:
        message.deleted_at = at or timezone.now()
        message.save(update_fields=["deleted_at"])
    return message


@transaction.atomic
def delete_conversation(
    conversation: Conversation, *, by: Person, at: datetime | None = None
) -> Conversation:
    moment = at or timezone.now()
    if conversation.created_by_id != by.pk and "admin" not in roles_at(
        by, conversation.organization, moment
    ):
        raise PermissionDenied(_("Удалить беседу может её создатель или администратор."))
    if conversation.deleted_at is None:
        conversation.deleted_at = moment
        conversation.save(update_fields=["deleted_at"])
    return conversation

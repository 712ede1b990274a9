"""Writes about conversations and messages. Each function is one transaction.

Every change publishes an event (built by parta.messaging.events) to the conversation's
current members through parta.realtime; realtime sends it once the transaction commits,
so nobody hears of a message that was not stored.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from parta.accounts.models import Person, Role
from parta.accounts.selectors import (
    class_at,
    holds_role,
    may_reach_directly,
    parents_of,
    roles_at,
    students_in_class,
)
from parta.accounts.services import record_audit
from parta.errors import Conflict
from parta.links import absolute_url
from parta.messaging import events
from parta.messaging.attachments import check_size, image_preview, sniff
from parta.messaging.models import Attachment, Conversation, ConversationMember, Message
from parta.messaging.selectors import (
    Access,
    access_to,
    class_chats_joined,
    class_chats_to_join,
    classes_of_children,
    is_member,
    is_staff_only,
    may_create_group,
    may_join,
    may_moderate,
    may_post,
    member_ids,
    membership,
    pinned_chats,
    welcome_conversations,
)
from parta.messaging.signals import messages_written
from parta.structure.models import Organization, SchoolClass

MAX_MESSAGE_LENGTH = 10_000
MAX_ATTACHMENTS = 10
# As in mature messengers: a short list on top stays a list one reads at a glance.
MAX_PINNED_CHATS = 10


class ServiceNotice:
    """Kinds of service messages: stored with is_service=True, never counted (spec)."""

    JOINED = "joined"
    LEFT = "left"
    CALL_STARTED = "call_started"
    BROADCAST_STARTED = "broadcast_started"
    NOTICE = "notice"  # any other, its text says what happened
    # A newcomer's welcome in their notices channel; one per role, the role after the colon.
    WELCOME = "welcome"

    @classmethod
    def is_personal(cls, kind: str) -> bool:
        """Parta's notice to one person (post_personal_notice): pushed to that person,
        unlike the other service notices."""
        return kind == cls.NOTICE or kind.startswith(f"{cls.WELCOME}:")


# ---------------------------------------------------------------- conversations


def _check_creator(
    creator: Person,
    organization: Organization,
    kind: str,
    purpose: str,
    school_class: SchoolClass | None,
    moment: datetime,
) -> set[str]:
    roles = roles_at(creator, organization, moment)
    if not roles:
        raise PermissionDenied(_("Создавать беседы могут только участники организации."))
    if purpose == Conversation.Purpose.DIRECT:
        return roles
    if purpose == Conversation.Purpose.NOTICES:
        raise PermissionDenied(_("Канал уведомлений Парта создаёт сама."))
    if kind == Conversation.Kind.CHANNEL:
        if not roles & {Role.ADMIN, Role.TEACHER}:
            raise PermissionDenied(_("Канал может создать администратор или учитель."))
    elif not may_create_group(roles):
        raise PermissionDenied(
            _("Ученики и родители не создают групповые чаты; начните личную переписку.")
        )
    if purpose == Conversation.Purpose.CLASS and not roles & {Role.TEACHER, Role.ADMIN}:
        raise PermissionDenied(_("Чат класса создаёт учитель."))
    if purpose == Conversation.Purpose.PARENTS:
        if school_class is None:
            raise ValidationError(_("Для чата с родителями выберите класс."))
        if school_class.class_teacher_id != creator.pk and Role.ADMIN not in roles:
            raise PermissionDenied(_("Чат с родителями класса создаёт его классный руководитель."))
    return roles


def _check_new_member(conversation: Conversation, person: Person, moment: datetime) -> None:
    if not may_join(person, conversation, moment):
        if is_staff_only(conversation) and roles_at(person, conversation.organization, moment):
            raise PermissionDenied(
                _("%(name)s: в беседу сотрудников нельзя добавить учеников и родителей.")
                % {"name": person.full_name}
            )
        raise PermissionDenied(
            _("%(name)s не состоит в организации «%(org)s».")
            % {"name": person.full_name, "org": conversation.organization}
        )


def _check_direct_reach(
    person: Person, other: Person, organization: Organization, moment: datetime
) -> None:
    """Only people of the same school now, and a student only with their teachers, admins,
    parents and classmates (accounts.selectors.directly_reachable)."""
    if may_reach_directly(person, other, organization, moment):
        return
    if not roles_at(other, organization, moment) or not roles_at(person, organization, moment):
        raise PermissionDenied(
            _("%(name)s не состоит в организации «%(org)s».")
            % {"name": other.full_name, "org": organization}
        )
    raise PermissionDenied(
        _(
            "Личная переписка с учеником — только с его учителями, администрацией школы, "
            "родителями и одноклассниками."
        )
    )


class ChatExists(Conflict):
    """The creator already has this class's chat of this purpose: a second one would only
    split the class (issue 15). The pages and the API open `conversation` instead."""

    def __init__(self, conversation: Conversation) -> None:
        super().__init__(
            _("У вас уже есть чат «%(title)s» этого класса.") % {"title": conversation.title},
            code="chat_exists",
        )
        self.conversation = conversation


# One of each per teacher and class; subject teachers each have their own.
ONE_PER_CLASS = (Conversation.Purpose.CLASS, Conversation.Purpose.PARENTS)


def _one_per_class(creator: Person, school_class: SchoolClass, purpose: str, title: str) -> str:
    """Refuses a second class or parents' chat of `creator` for `school_class` (ChatExists);
    returns the title to use: one another teacher's chat of the class already has gets the
    creator's name, so that the chat lists tell the two apart."""
    # The class row's lock makes two tabs' simultaneous attempts wait for each other.
    SchoolClass.objects.select_for_update().filter(pk=school_class.pk).first()
    same = Conversation.objects.filter(
        school_class=school_class, purpose=purpose, deleted_at__isnull=True
    )
    mine = same.filter(created_by=creator).order_by("pk").first()
    if mine is not None:
        raise ChatExists(mine)
    if same.filter(title=title).exists():
        return f"{title} ({creator.full_name})"
    return title


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
    """A chat or channel of `organization`, by the roles the creator holds there now.

    A class chat brings in the class's students and a parents' chat their parents in the
    same step; every member must belong to the organization at that moment.
    """
    moment = at or timezone.now()
    if not title.strip():
        raise ValidationError(_("У беседы должно быть название."))
    if kind not in Conversation.Kind.values or purpose not in Conversation.Purpose.values:
        raise ValidationError(_("Неизвестный вид или назначение беседы."))
    channel = kind == Conversation.Kind.CHANNEL
    chat_only = (
        Conversation.Purpose.CLASS,
        Conversation.Purpose.PARENTS,
        Conversation.Purpose.DIRECT,
    )
    if (channel and purpose in chat_only) or (not channel and purpose == Conversation.Purpose.INFO):
        raise ValidationError(_("Такого назначения у этого вида беседы не бывает."))
    if school_class is not None and school_class.organization_id != organization.pk:
        raise ValidationError(_("Класс принадлежит другой организации."))
    _check_creator(creator, organization, kind, purpose, school_class, moment)
    title = title.strip()
    if school_class is not None and purpose in ONE_PER_CLASS:
        title = _one_per_class(creator, school_class, purpose, title)
    people = {p.pk: p for p in members if p.pk != creator.pk}
    if school_class is not None and purpose == Conversation.Purpose.CLASS:
        people.update({p.pk: p for p in students_in_class(school_class, moment)})
    if school_class is not None and purpose == Conversation.Purpose.PARENTS:
        for student in students_in_class(school_class, moment):
            people.update({p.pk: p for p in parents_of(student)})
    people.pop(creator.pk, None)
    if purpose == Conversation.Purpose.DIRECT and len(people) != 1:
        raise ValidationError(_("Личная переписка — ровно с одним человеком."))
    if purpose == Conversation.Purpose.DIRECT:
        (other,) = people.values()
        _check_direct_reach(creator, other, organization, moment)
    conversation = Conversation.objects.create(
        organization=organization,
        kind=kind,
        title=title,
        purpose=purpose,
        school_class=school_class,
        created_by=creator,
        created_at=moment,
    )
    for person in people.values():
        _check_new_member(conversation, person, moment)
    ConversationMember.objects.create(
        conversation=conversation,
        person=creator,
        role=ConversationMember.Role.OWNER,
        joined_at=moment,
    )
    ConversationMember.objects.bulk_create(
        ConversationMember(conversation=conversation, person=person, joined_at=moment)
        for person in people.values()
    )
    events.conversation_created(conversation).publish()
    return conversation


@transaction.atomic
def start_direct_chat(
    person: Person, other: Person, organization: Organization, *, at: datetime | None = None
) -> Conversation:
    """The open direct chat of the two in this organization, made if there is none yet."""
    moment = at or timezone.now()
    if other.pk == person.pk:
        raise ValidationError(_("Нельзя начать переписку с самим собой."))
    # Checked before an existing chat is reopened too: a chat from an earlier role is no
    # way back to a child.
    _check_direct_reach(person, other, organization, moment)
    existing = (
        Conversation.objects.filter(
            organization=organization,
            purpose=Conversation.Purpose.DIRECT,
            deleted_at__isnull=True,
            members__person=person,
            members__left_at__isnull=True,
        )
        .filter(members__person=other, members__left_at__isnull=True)
        .first()
    )
    if existing is not None:
        return existing
    return create_conversation(
        person,
        organization,
        title=f"{person.full_name} — {other.full_name}",
        purpose=Conversation.Purpose.DIRECT,
        members=[other],
        at=moment,
    )


def _require_moderator(person: Person, conversation: Conversation, moment: datetime) -> None:
    if not may_moderate(person, conversation, moment):
        raise PermissionDenied(
            _("Это могут только администратор школы, владелец и модераторы беседы.")
        )


@transaction.atomic
def add_members(
    conversation: Conversation,
    people: Iterable[Person],
    *,
    by: Person,
    at: datetime | None = None,
) -> list[ConversationMember]:
    """Add people (each must belong to the school now); each gets a «joined» notice."""
    moment = at or timezone.now()
    if conversation.deleted_at is not None:
        raise ValidationError(_("Беседа удалена."))
    if conversation.purpose == Conversation.Purpose.DIRECT:
        raise ValidationError(_("В личную переписку нельзя добавить участников."))
    _require_moderator(by, conversation, moment)
    added = []
    for person in {p.pk: p for p in people}.values():
        if is_member(person, conversation):
            continue
        _check_new_member(conversation, person, moment)
        added.append(_join(conversation, person, moment))
    return added


def _join(conversation: Conversation, person: Person, moment: datetime) -> ConversationMember:
    member = ConversationMember.objects.create(
        conversation=conversation, person=person, joined_at=moment
    )
    events.member_joined(conversation, person).publish()
    # A channel's readers are not told of each other: a school channel gains a line per
    # newcomer otherwise (1,750 when a school's roster joins), each sent to every reader.
    if conversation.kind != Conversation.Kind.CHANNEL:
        post_service_notice(conversation, person, ServiceNotice.JOINED, at=moment)
    return member


@transaction.atomic
def join_channel(
    person: Person, conversation: Conversation, *, at: datetime | None = None
) -> ConversationMember:
    """A person of the school subscribes to one of its channels."""
    moment = at or timezone.now()
    if conversation.kind != Conversation.Kind.CHANNEL or conversation.deleted_at is not None:
        raise ValidationError(_("Присоединиться самому можно только к каналу."))
    existing = membership(person, conversation)
    if existing is not None:
        return existing
    _check_new_member(conversation, person, moment)
    return _join(conversation, person, moment)


@transaction.atomic
def remove_member(
    conversation: Conversation, person: Person, *, by: Person, at: datetime | None = None
) -> ConversationMember:
    """Leave (by oneself) or remove; access ends with this transaction."""
    moment = at or timezone.now()
    if by.pk != person.pk:
        _require_moderator(by, conversation, moment)
    member = (
        ConversationMember.objects.select_for_update()
        .filter(conversation=conversation, person=person, left_at__isnull=True)
        .first()
    )
    if member is None:
        raise ValidationError(_("%(name)s не участник беседы.") % {"name": person.full_name})
    post_service_notice(conversation, person, ServiceNotice.LEFT, at=moment)
    everyone = member_ids(conversation)
    member.left_at = moment
    member.save(update_fields=["left_at"])
    if by.pk != person.pk:
        record_audit(
            "conversation_member_removed",
            actor=by,
            organization=conversation.organization,
            subject=person,
            conversation=conversation.pk,
        )
    events.member_left(conversation, person, everyone).publish()
    return member


@transaction.atomic
def set_member_role(
    conversation: Conversation,
    person: Person,
    role: str,
    *,
    by: Person,
    at: datetime | None = None,
) -> ConversationMember:
    """Appoint (or relieve) a moderator, or a channel's author; by an admin or the owner."""
    moment = at or timezone.now()
    appointer = membership(by, conversation)
    is_owner = appointer is not None and appointer.role == ConversationMember.Role.OWNER
    if not is_owner and Role.ADMIN not in roles_at(by, conversation.organization, moment):
        raise PermissionDenied(_("Назначать может администратор школы или владелец беседы."))
    allowed = [ConversationMember.Role.MEMBER, ConversationMember.Role.MODERATOR]
    if conversation.kind == Conversation.Kind.CHANNEL:
        allowed.append(ConversationMember.Role.AUTHOR)
    if role not in allowed:
        raise ValidationError(_("Такую роль в этой беседе назначить нельзя."))
    member = membership(person, conversation)
    if member is None:
        raise ValidationError(_("%(name)s не участник беседы.") % {"name": person.full_name})
    if member.role == ConversationMember.Role.OWNER:
        raise ValidationError(_("Роль владельца беседы не меняется."))
    member.role = role
    member.save(update_fields=["role"])
    events.member_role(conversation, person, role).publish()
    return member


@transaction.atomic
def set_read_only(
    conversation: Conversation, read_only: bool, *, by: Person, at: datetime | None = None
) -> Conversation:
    """In a read-only chat only the owner, moderators and admins write."""
    _require_moderator(by, conversation, at or timezone.now())
    conversation.is_read_only = read_only
    conversation.save(update_fields=["is_read_only"])
    events.conversation_updated(conversation).publish()
    return conversation


@transaction.atomic
def delete_conversation(
    conversation: Conversation, *, by: Person, at: datetime | None = None
) -> Conversation:
    moment = at or timezone.now()
    if conversation.created_by_id != by.pk and Role.ADMIN not in roles_at(
        by, conversation.organization, moment
    ):
        raise PermissionDenied(_("Удалить беседу может её создатель или администратор."))
    if conversation.deleted_at is None:
        conversation.deleted_at = moment
        conversation.save(update_fields=["deleted_at"])
        events.conversation_deleted(conversation).publish()
    return conversation


# ---------------------------------------------------------------- messages


def _store(
    author: Person,
    conversation: Conversation,
    text: str,
    *,
    moment: datetime,
    idempotency_key: str | None,
    reply_to: Message | None,
    service_kind: str = "",
    zone: ZoneInfo | None = None,
) -> Message:
    message = Message.objects.create(
        conversation=conversation,
        organization_id=conversation.organization_id,
        author=author,
        written_at=moment,
        text=text,
        is_service=bool(service_kind),
        service_kind=service_kind,
        reply_to=reply_to,
        idempotency_key=idempotency_key or None,
    )
    # The week's tally needs the school's zone; a send through Access knows it already.
    zones = {conversation.organization_id: zone} if zone is not None else None
    messages_written.send(sender=Message, messages=[message], zones=zones)
    return message


def _repeated(
    existing: Message,
    conversation: Conversation,
    text: str,
    reply_to: Message | None,
    files: list[Attachment],
) -> Message:
    """The message a repeated idempotency key stored, if the repeat is the same message;
    a key reused for another message or in another conversation is a conflict."""
    if existing.conversation_id != conversation.pk:
        raise Conflict(
            _("Ключ повтора уже использован для сообщения в другой беседе."),
            code="idempotency_conflict",
        )
    # An edited or deleted message no longer shows what was sent: any repeat is that one.
    if existing.edited_at is None and existing.deleted_at is None:
        same = (
            existing.text == text
            and existing.reply_to_id == (reply_to.pk if reply_to else None)
            and set(existing.attachments.values_list("pk", flat=True)) == {a.pk for a in files}
        )
        if not same:
            raise Conflict(
                _("Ключ повтора уже использован для другого сообщения."),
                code="idempotency_conflict",
            )
    return existing


@dataclass(frozen=True)
class Sent:
    message: Message
    created: bool  # False: the idempotency key named a message stored before
    attachments: list[Attachment]


def send_message(
    author: Person,
    conversation: Conversation,
    text: str,
    *,
    idempotency_key: str | None = None,
    reply_to: Message | None = None,
    attachments: Iterable[Attachment] = (),
    at: datetime | None = None,
) -> Message:
    """Store a message; a repeated idempotency key returns the message stored the first time
    (the same key with another text, reply or attachments, or in another chat: Conflict)."""
    return submit_message(
        author,
        conversation,
        text,
        idempotency_key=idempotency_key,
        reply_to=reply_to,
        attachments=attachments,
        at=at,
    ).message


def submit_message(
    author: Person,
    conversation: Conversation,
    text: str,
    *,
    access: Access | None = None,
    idempotency_key: str | None = None,
    reply_to: Message | None = None,
    attachments: Iterable[Attachment] = (),
    at: datetime | None = None,
) -> Sent:
    """send_message for a request that has read the author's `access` already (one query
    for the rights, the school and its zone): the live path, at most 8 statements."""
    files = list(attachments)
    try:
        return _submit(author, conversation, text, access, idempotency_key, reply_to, files, at)
    except IntegrityError:
        # The same key raced in from another tab and won: that one is the message. Inside
        # a caller's transaction the error is the caller's, like any failed write.
        if not idempotency_key or transaction.get_connection().in_atomic_block:
            raise
        existing = Message.objects.filter(author=author, idempotency_key=idempotency_key).first()
        if existing is None:
            raise
        return Sent(_repeated(existing, conversation, text, reply_to, files), False, files)


@transaction.atomic
def _submit(
    author: Person,
    conversation: Conversation,
    text: str,
    access: Access | None,
    idempotency_key: str | None,
    reply_to: Message | None,
    files: list[Attachment],
    at: datetime | None,
) -> Sent:
    if idempotency_key:
        if len(idempotency_key) > 64:
            raise ValidationError(_("Ключ повтора длиннее 64 знаков."))
        existing = Message.objects.filter(author=author, idempotency_key=idempotency_key).first()
        if existing is not None:
            return Sent(_repeated(existing, conversation, text, reply_to, files), False, files)
    moment = at or (access.when if access is not None else timezone.now())
    # An access read for another person, chat or moment is read again for this send.
    if access is None or (access.when, access.person.pk, access.conversation.pk) != (
        moment,
        author.pk,
        conversation.pk,
    ):
        access = access_to(author, conversation, moment)
    if access is None:
        raise ValidationError(_("Беседа удалена."))
    conversation = access.conversation
    if conversation.deleted_at is not None and conversation.deleted_at <= moment:
        raise ValidationError(_("Беседа удалена."))
    if access.member is None:
        raise PermissionDenied(_("Писать в беседу могут только её участники."))
    if not access.may_post:
        if conversation.kind == Conversation.Kind.CHANNEL:
            raise PermissionDenied(_("В канале пишут администраторы и назначенные авторы."))
        raise PermissionDenied(_("Беседа только для чтения."))
    if not text.strip() and not files:
        raise ValidationError(_("Пустое сообщение не отправляется."))
    if len(text) > MAX_MESSAGE_LENGTH:
        raise ValidationError(
            _("Сообщение длиннее %(n)s знаков; разделите его.") % {"n": MAX_MESSAGE_LENGTH}
        )
    if reply_to is not None and reply_to.conversation_id != conversation.pk:
        raise ValidationError(_("Ответить можно только на сообщение из этой же беседы."))
    if len(files) > MAX_ATTACHMENTS:
        raise ValidationError(_("Не больше %(n)s вложений.") % {"n": MAX_ATTACHMENTS})
    for attachment in files:
        if (
            attachment.uploaded_by_id != author.pk
            or attachment.conversation_id != conversation.pk
            or attachment.message_id is not None
        ):
            raise ValidationError(_("Вложение загружено не для этого сообщения."))
    message = _store(
        author,
        conversation,
        text,
        moment=moment,
        idempotency_key=idempotency_key,
        reply_to=reply_to,
        zone=conversation.organization.district.region.zone,
    )
    if files:
        Attachment.objects.filter(pk__in=[a.pk for a in files]).update(message=message)
    events.message_created(message, files).publish()
    return Sent(message, True, files)


@transaction.atomic
def post_service_notice(
    conversation: Conversation,
    person: Person,
    kind: str,
    *,
    text: str = "",
    at: datetime | None = None,
) -> Message:
    """«Joined», «left», «call started» by `person`: shown in the conversation, never counted."""
    if not is_member(person, conversation):
        raise PermissionDenied(_("Писать в беседу могут только её участники."))
    message = _store(
        person,
        conversation,
        text,
        moment=at or timezone.now(),
        idempotency_key=None,
        reply_to=None,
        service_kind=kind,
    )
    events.message_created(message, []).publish()
    return message


def _locked(message: Message) -> Message:
    return Message.objects.select_for_update().select_related("conversation").get(pk=message.pk)


@transaction.atomic
def edit_message(message: Message, text: str, *, by: Person, at: datetime | None = None) -> Message:
    """The author changes the text; it shows as edited. Counts do not change (spec)."""
    message = _locked(message)
    if message.author_id != by.pk or message.is_service:
        raise PermissionDenied(_("Изменить сообщение может только его автор."))
    if not is_member(by, message.conversation):
        raise PermissionDenied(_("Писать в беседу могут только её участники."))
    if message.deleted_at is not None:
        raise ValidationError(_("Удалённое сообщение не изменить."))
    if not text.strip():
        raise ValidationError(_("Пустое сообщение не отправляется; удалите его."))
    if len(text) > MAX_MESSAGE_LENGTH:
        raise ValidationError(
            _("Сообщение длиннее %(n)s знаков; разделите его.") % {"n": MAX_MESSAGE_LENGTH}
        )
    if text != message.text:
        message.text = text
        message.edited_at = at or timezone.now()
        message.save(update_fields=["text", "edited_at"])
        events.message_edited(message).publish()
    return message


@transaction.atomic
def delete_message(message: Message, *, by: Person, at: datetime | None = None) -> Message:
    """Soft deletion by the author or a moderator: shows as deleted; the week's counts keep it."""
    moment = at or timezone.now()
    message = _locked(message)
    is_author = message.author_id == by.pk and not message.is_service
    if not is_author and not may_moderate(by, message.conversation, moment):
        raise PermissionDenied(
            _("Удалить сообщение может его автор, модератор или администратор школы.")
        )
    if message.deleted_at is None:
        message.deleted_at = moment
        message.deleted_by = by
        message.save(update_fields=["deleted_at", "deleted_by"])
        if not is_author:
            record_audit(
                "message_removed",
                actor=by,
                organization=message.conversation.organization,
                subject=message.author,
                message=message.pk,
                conversation=message.conversation_id,
            )
        events.message_deleted(message).publish()
    return message


@transaction.atomic
def pin_message(
    message: Message, pinned: bool, *, by: Person, at: datetime | None = None
) -> Message:
    """Moderators pin in group conversations; in a direct chat either person may."""
    moment = at or timezone.now()
    message = _locked(message)
    conversation = message.conversation
    direct_member = conversation.purpose == Conversation.Purpose.DIRECT and is_member(
        by, conversation
    )
    if not direct_member and not may_moderate(by, conversation, moment):
        raise PermissionDenied(_("Закреплять сообщения могут модераторы и администратор школы."))
    if message.deleted_at is not None or message.is_service:
        raise ValidationError(_("Это сообщение закрепить нельзя."))
    if (message.pinned_at is not None) != pinned:
        message.pinned_at = moment if pinned else None
        message.save(update_fields=["pinned_at"])
        events.message_pinned(message).publish()
    return message


@transaction.atomic
def mark_read(
    person: Person, conversation: Conversation, up_to: int | None = None
) -> ConversationMember:
    """Read state of one person: everything up to message id `up_to` (or the latest)."""
    member = (
        ConversationMember.objects.select_for_update()
        .filter(conversation=conversation, person=person, left_at__isnull=True)
        .first()
    )
    if member is None:
        raise PermissionDenied(_("Вы не участник этой беседы."))
    latest = (
        Message.objects.filter(conversation=conversation)
        .order_by("-pk")
        .values_list("pk", flat=True)
        .first()
    ) or 0
    target = latest if up_to is None else min(up_to, latest)
    if target > member.read_up_to:
        member.read_up_to = target
        member.save(update_fields=["read_up_to"])
        events.conversation_read(person, conversation, target).publish()
    return member


@transaction.atomic
def pin_conversation(
    person: Person, conversation: Conversation, pinned: bool, *, at: datetime | None = None
) -> ConversationMember:
    """Pin a chat to the top of the person's own list (or unpin it); nobody else sees it.
    Pinning again keeps the first moment, so the order does not jump."""
    moment = at or timezone.now()
    access = access_to(person, conversation, moment)
    if access is None or not access.may_read or access.member is None:
        raise PermissionDenied(_("Вы не участник этой беседы."))
    member = ConversationMember.objects.select_for_update().get(pk=access.member.pk)
    if pinned and member.pinned_at is None:
        # Locks the person's pins: two pins at once cannot both pass the limit.
        held = list(pinned_chats(person).select_for_update(of=("self",)).values_list("pk"))
        if len(held) >= MAX_PINNED_CHATS:
            raise ValidationError(
                _("Закрепить можно не больше %(limit)d бесед: открепите какую-нибудь.")
                % {"limit": MAX_PINNED_CHATS},
                code="too_many_pins",
            )
        member.pinned_at = moment
        member.save(update_fields=["pinned_at"])
    elif not pinned and member.pinned_at is not None:
        member.pinned_at = None
        member.save(update_fields=["pinned_at"])
    return member


# ---------------------------------------------------------------- attachments


@transaction.atomic
def upload_attachment(
    uploader: Person,
    conversation: Conversation,
    upload: UploadedFile,
    *,
    at: datetime | None = None,
) -> Attachment:
    """Check the file by its size and its bytes; store it (and an image's preview) for sending."""
    moment = at or timezone.now()
    if not may_post(uploader, conversation, moment):
        raise PermissionDenied(_("Прикреплять файлы может тот, кто может писать в беседу."))
    check_size(upload.size or 0)
    upload.seek(0)
    content = upload.read()
    check_size(len(content))
    file_type = sniff(content)
    preview = image_preview(content, file_type) if file_type.kind == Attachment.Kind.IMAGE else None
    attachment = Attachment(
        conversation=conversation,
        uploaded_by=uploader,
        kind=file_type.kind,
        content_type=file_type.content_type,
        extension=file_type.extension,
        original_name=(upload.name or "file")[-255:],
        size=len(content),
        uploaded_at=moment,
        width=preview.width if preview else None,
        height=preview.height if preview else None,
    )
    attachment.file.save("upload", ContentFile(content), save=False)
    if preview is not None:
        attachment.preview.save("preview", ContentFile(preview.jpeg), save=False)
    stored = [attachment.file.name, attachment.preview.name if preview else None]
    # If the row cannot be written, the files go too: nothing is left of a refused upload.
    try:
        attachment.save()
    except Exception:
        for name in stored:
            if name:
                attachment.file.storage.delete(name)
        raise
    return attachment


@transaction.atomic
def discard_unsent_uploads(uploaded_before: datetime) -> int:
    """Delete files uploaded before `uploaded_before` that no message took (the page was
    closed, the send never came); their files go once the deletion is committed."""
    unsent = list(
        Attachment.objects.select_for_update().filter(
            message__isnull=True, uploaded_at__lt=uploaded_before
        )
    )
    if not unsent:
        return 0
    names = [
        (attachment.file.storage, name)
        for attachment in unsent
        for name in (attachment.file.name, attachment.preview.name)
        if name
    ]
    Attachment.objects.filter(pk__in=[attachment.pk for attachment in unsent]).delete()

    def delete_files() -> None:
        for storage, name in names:
            storage.delete(name)

    transaction.on_commit(delete_files, robust=True)
    return len(unsent)


# ---------------------------------------------------------------- a person's own notices

# The person's own channel in the school where Parta posts its notices to them.
NOTICES_TITLE = "Парта · уведомления"


def notices_conversation(person: Person, organization: Organization, now: datetime) -> Conversation:
    """The person's own «Парта · уведомления» channel in the school, made on first use.

    A channel, not a chat, so it never counts as a chat (indicator 2 counts chats only);
    the person is its only member and nobody can join it (the NOTICES purpose).
    """
    existing = Conversation.objects.filter(
        organization=organization,
        kind=Conversation.Kind.CHANNEL,
        purpose=Conversation.Purpose.NOTICES,
        created_by=person,
        deleted_at__isnull=True,
        members__person=person,
        members__left_at__isnull=True,
    ).first()
    if existing is not None:
        return existing
    # Made by Parta, not by the person's rights: a student or parent has one too.
    conversation = Conversation.objects.create(
        organization=organization,
        kind=Conversation.Kind.CHANNEL,
        title=NOTICES_TITLE,
        purpose=Conversation.Purpose.NOTICES,
        created_by=person,
        created_at=now,
    )
    ConversationMember.objects.create(
        conversation=conversation, person=person, role=ConversationMember.Role.OWNER, joined_at=now
    )
    events.conversation_created(conversation).publish()
    return conversation


@transaction.atomic
def post_personal_notice(
    person: Person,
    organization: Organization,
    text: str,
    *,
    kind: str = ServiceNotice.NOTICE,
    at: datetime | None = None,
) -> Message:
    """The one way Parta tells a person something in the school (digests, welcomes): a
    service notice in their own notices channel, never counted."""
    moment = at or timezone.now()
    conversation = notices_conversation(person, organization, moment)
    return post_service_notice(conversation, person, kind, text=text, at=moment)


# ---------------------------------------------------------------- the welcome (issue 15)


def _welcome_text(
    person: Person,
    organization: Organization,
    role: str,
    joined: list[Conversation],
    *,
    approved: bool,
    moment: datetime,
) -> str:
    """Says the role (and the class), where the person now is and where to start."""
    label = str(Role(role).label)
    if role == Role.STUDENT and (school_class := class_at(person, moment)) is not None:
        label = _("%(role)s, класс %(class)s") % {
            "role": label,
            "class": school_class.display_name,
        }
    parts = [_("Ваша заявка одобрена.")] if approved else []
    parts.append(
        _("Добро пожаловать в «%(org)s»! Ваша роль — %(role)s.")
        % {"org": organization, "role": label}
    )
    if joined:
        parts.append(
            _("Вас добавили в беседы: %(titles)s.")
            % {"titles": ", ".join(f"«{c.title}»" for c in joined)}
        )
    start = _("С чего начать: ваши беседы — %(url)s") % {
        "url": absolute_url(reverse("messaging:list"))
    }
    if role in (Role.TEACHER, Role.ADMIN):
        start += "; " + _("новый чат с классом или с родителями — %(url)s") % {
            "url": absolute_url(reverse("messaging:new"))
        }
    parts.append(start)
    return " ".join(parts)


@transaction.atomic
def welcome(
    person: Person,
    organization: Organization,
    role: str,
    *,
    approved: bool = False,
    at: datetime | None = None,
) -> list[ConversationMember]:
    """Add a newcomer to the school's conversations for `role` (selectors.
    welcome_conversations) and post the welcome notice once per role. Runs inside the
    transaction that granted the role (invites.signals.admitted): nothing half-done.

    Existing conversations only: a welcome never creates a chat, least of all in a
    teacher's name (it would count for indicator 2). Running it again adds nobody twice
    and posts no second welcome for the same role.
    """
    moment = at or timezone.now()
    joined = [
        conversation
        for conversation in welcome_conversations(person, organization, role, moment)
        if not is_member(person, conversation)
    ]
    added = [_join(conversation, person, moment) for conversation in joined]
    if role == Role.STUDENT:
        added += _bring_parents(person, organization, moment)
    kind = f"{ServiceNotice.WELCOME}:{role}"
    already = Message.objects.filter(
        conversation__organization=organization,
        conversation__purpose=Conversation.Purpose.NOTICES,
        author=person,
        service_kind=kind,
    ).exists()
    if not already:
        # Stored once for the school, so in its language, as the digests' notices.
        with translation.override("ru"):
            text = _welcome_text(
                person, organization, role, joined, approved=approved, moment=moment
            )
        post_personal_notice(person, organization, text, kind=kind, at=moment)
    return added


def _bring_parents(
    student: Person, organization: Organization, moment: datetime
) -> list[ConversationMember]:
    """A student who joins after her parent (a family's slip: the mother first) brings the
    parent into her class's parents' chats, which the parent's own welcome could not find:
    the child was in no class yet. Parents who hold the parent role in the school only."""
    school_class = class_at(student, moment)
    if school_class is None:
        return []
    return [
        _join(conversation, parent, moment)
        for parent in parents_of(student)
        if holds_role(parent, organization, Role.PARENT, moment)
        for conversation in class_chats_to_join(
            parent, Conversation.Purpose.PARENTS, school_class, moment
        )
    ]


@transaction.atomic
def follow_class_move(
    student: Person, old_class: SchoolClass, new_class: SchoolClass, *, at: datetime
) -> None:
    """A student moved to another class: she leaves her old class's chats and joins the
    new class's; each of her parents leaves the old class's parents' chats (unless another
    child of theirs is still in that class) and joins the new one's. Existing chats only,
    as the welcome; whether or not they have joined Parta yet, as a class chat made today
    would hold them (create_conversation)."""
    organization = new_class.organization
    people = [(student, Conversation.Purpose.CLASS)] + [
        (parent, Conversation.Purpose.PARENTS) for parent in parents_of(student)
    ]
    for person, purpose in people:
        still_there = purpose == Conversation.Purpose.PARENTS and old_class.pk in (
            classes_of_children(person, organization, at)
        )
        if not still_there:
            for conversation in class_chats_joined(person, purpose, old_class):
                remove_member(conversation, person, by=person, at=at)
        for conversation in class_chats_to_join(person, purpose, new_class, at):
            _join(conversation, person, at)


def on_class_moved(
    sender: object,
    student: Person,
    old_class: SchoolClass,
    new_class: SchoolClass,
    at: datetime,
    **kwargs: object,
) -> None:
    follow_class_move(student, old_class, new_class, at=at)


@transaction.atomic
def follow_merge(record: Person, into: Person, *, at: datetime) -> None:
    """A roster record was merged into its person's account (accounts.merge_roster_record):
    the record's open memberships — a class chat made before she joined already holds her
    record — become the account's, read state and all; where the account is a member
    already, the record's membership ends. No «joined» line: nobody new came in."""
    for member in (
        ConversationMember.objects.select_for_update()
        .filter(person=record, left_at__isnull=True)
        .select_related("conversation")
        .order_by("pk")
    ):
        if is_member(into, member.conversation):
            member.left_at = at
            member.save(update_fields=["left_at"])
            continue
        member.person = into
        member.save(update_fields=["person"])
        events.member_joined(member.conversation, into).publish()


def on_person_merged(
    sender: object, record: Person, into: Person, at: datetime, **kwargs: object
) -> None:
    follow_merge(record, into, at=at)


def on_admitted(
    sender: object,
    person: Person,
    organization: Organization,
    role: str,
    approved: bool = False,
    **kwargs: object,
) -> None:
    welcome(person, organization, role, approved=approved)

"""Messaging API: conversations, members, messages, read state and attachments.

Refusals answer 400 (bad input) or 403 (not allowed now) with {"detail", "code"}; a
conversation the caller is not in answers 404, so ids reveal nothing. A send answers
only after its transaction committed; repeating it with the same idempotency_key
returns the message stored the first time (200 instead of 201); the same key with another
text, reply or attachments, or in another conversation, answers 409.
"""

from typing import Annotated, Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext
from ninja import Field, File, Query, Router, Schema, Status
from ninja.files import UploadedFile

from parta.accounts.models import Person
from parta.accounts.selectors import organizations_visible_to
from parta.api_errors import AtMost, ErrorOut, Id, Ids, signed_in_person
from parta.messaging import selectors, services
from parta.messaging.models import Attachment, Conversation, ConversationMember, Message
from parta.structure.models import SchoolClass

router = Router(tags=["messaging"])


class PersonRef(Schema):
    id: int
    name: str


class AttachmentOut(Schema):
    id: int
    kind: str
    name: str
    content_type: str
    size: int
    width: int | None
    height: int | None
    url: str
    preview_url: str | None


class ReplyOut(Schema):
    id: int
    author: str
    text: str


class MessageOut(Schema):
    id: int
    conversation_id: int
    author: PersonRef
    written_at: str
    text: str = Field(description="пусто у удалённого сообщения")
    is_service: bool
    service_kind: str = Field(
        description="joined, left, call_started, broadcast_started, notice; пусто у сообщений"
    )
    edited: bool
    deleted: bool
    pinned: bool
    reply_to: ReplyOut | None
    attachments: list[AttachmentOut]


class ConversationOut(Schema):
    id: int
    organization_id: int
    kind: str
    purpose: str
    title: str
    school_class_id: int | None
    is_read_only: bool
    created_at: str


class LastMessageOut(Schema):
    id: int
    author: PersonRef
    written_at: str
    preview: str = Field(description="первая строка текста; пусто у удалённого и служебного")
    deleted: bool
    is_service: bool
    service_kind: str


class ConversationListItem(ConversationOut):
    unread: int
    my_role: str
    last_message_at: str | None
    pinned_at: str | None = Field(description="закреплена вверху своего списка")
    last_message: LastMessageOut | None


class PinnedOut(Schema):
    conversation_id: int
    pinned_at: str | None


class UnreadOut(Schema):
    total: int = Field(description="непрочитанные во всех беседах")
    newest: int = Field(description="id новейшего сообщения на момент подсчёта")


class ConversationMemberOut(Schema):
    id: int
    name: str
    role: str


class ConversationDetail(ConversationOut):
    my_role: str
    may_post: bool
    may_moderate: bool
    unread: int
    members: list[ConversationMemberOut]
    pinned: list[MessageOut]


class ConversationIn(Schema):
    organization_id: Id
    title: str
    kind: str = Field(Conversation.Kind.CHAT, description="chat или channel")
    purpose: str = Field(
        Conversation.Purpose.OTHER, description="class, parents, staff, other, info"
    )
    school_class_id: Id | None = Field(
        None, description="для чата класса (ученики добавятся) или чата с родителями"
    )
    member_ids: Ids = []


class DirectIn(Schema):
    organization_id: Id
    person_id: Id


class ConversationPatch(Schema):
    is_read_only: bool


class MembersIn(Schema):
    person_ids: Ids


class MemberRoleIn(Schema):
    role: str = Field(description="member, moderator или author (только в канале)")


class MessageIn(Schema):
    text: str = ""
    idempotency_key: str | None = Field(
        None, max_length=64, description="выбирает клиент; повтор с тем же ключом не дублирует"
    )
    reply_to: Id | None = None
    attachment_ids: Annotated[list[Id], AtMost(services.MAX_ATTACHMENTS)] = []


class MessageEdit(Schema):
    text: str


class PinIn(Schema):
    pinned: bool = True


class ReadIn(Schema):
    up_to: Id | None = Field(None, description="id последнего прочитанного; пусто — все")


class ReadOut(Schema):
    read_up_to: int
    unread: int


class PageQuery(Schema):
    before: Id | None = None
    after: Id | None = None
    limit: int = Field(50, ge=1, le=200)


def _access(person: Person, pk: int) -> selectors.Access:
    """The person's access to a live conversation they are in, or one they moderate as
    the school's admin (one query); 404 for any other."""
    access = selectors.access_to(person, pk, timezone.now())
    if (
        access is None
        or access.conversation.deleted_at is not None
        or not (access.may_read or access.may_moderate)
    ):
        raise Http404
    return access


def _conversation(person: Person, pk: int) -> Conversation:
    return _access(person, pk).conversation


def _message(person: Person, pk: int) -> Message:
    message = get_object_or_404(Message.objects.select_related("conversation"), pk=pk)
    _conversation(person, message.conversation_id)
    return message


def _member_person(pk: int) -> Person:
    return get_object_or_404(Person, pk=pk)


def _people(ids: list[int]) -> list[Person]:
    """The people picked for a chat; 400 if any of them does not exist."""
    people = list(Person.objects.filter(pk__in=ids))
    if len(people) != len(set(ids)):
        raise ValidationError(gettext("Кого-то из участников нет."), code="unknown_person")
    return people


def _detail(person: Person, conversation: Conversation) -> dict[str, Any]:
    now = timezone.now()
    member = selectors.membership(person, conversation)
    members = (
        ConversationMember.objects.filter(conversation=conversation, left_at__isnull=True)
        .select_related("person")
        .order_by("person__surname", "person__name")
    )
    return {
        **selectors.conversation_data(conversation),
        "my_role": member.role if member else "",
        "may_post": selectors.may_post(person, conversation, now),
        "may_moderate": selectors.may_moderate(person, conversation, now),
        "unread": selectors.unread_count(person, conversation),
        "members": [
            {"id": m.person_id, "name": m.person.full_name, "role": m.role} for m in members
        ],
        "pinned": [selectors.message_data(m) for m in selectors.pinned_in(conversation)],
    }


def _last_message(message: Message | None) -> dict[str, Any] | None:
    if message is None:
        return None
    return {
        "id": message.pk,
        "author": {"id": message.author_id, "name": message.author.full_name},
        "written_at": message.written_at.isoformat(),
        "preview": selectors.preview_text(message),
        "deleted": message.deleted_at is not None,
        "is_service": message.is_service,
        "service_kind": message.service_kind,
    }


@router.get("/conversations", response=list[ConversationListItem])
def list_conversations(request: HttpRequest) -> list[dict[str, Any]]:
    """The caller's conversations: the pinned first, then latest activity first, with
    unread counts and the last message's preview."""
    return [
        {
            **selectors.conversation_data(row.conversation),
            "unread": row.unread,
            "my_role": row.member.role,
            "last_message_at": (
                row.last_message.written_at.isoformat() if row.last_message else None
            ),
            "pinned_at": row.member.pinned_at.isoformat() if row.member.pinned_at else None,
            "last_message": _last_message(row.last_message),
        }
        for row in selectors.chat_list(signed_in_person(request))
    ]


@router.get("/unread", response=UnreadOut)
def unread_total(request: HttpRequest) -> dict[str, int]:
    """What the menu and the tab title show; a live tab counts on from `newest`."""
    found = selectors.unread_total(signed_in_person(request))
    return {"total": found.total, "newest": found.newest}


@router.post("/conversations", response={201: ConversationDetail, 200: ConversationDetail})
def create_conversation(request: HttpRequest, payload: ConversationIn) -> Any:
    """A chat (class, parents, staff, other) or a channel (info, staff). A teacher has one
    class chat and one parents' chat per class: asked for a second, 200 with the one she has."""
    person = signed_in_person(request)
    organization = get_object_or_404(
        organizations_visible_to(person, timezone.now()), pk=payload.organization_id
    )
    school_class = None
    if payload.school_class_id is not None:
        school_class = get_object_or_404(
            SchoolClass, pk=payload.school_class_id, organization=organization
        )
    try:
        conversation = services.create_conversation(
            person,
            organization,
            title=payload.title,
            kind=payload.kind,
            purpose=payload.purpose,
            school_class=school_class,
            members=_people(payload.member_ids),
        )
    except services.ChatExists as exists:
        return Status(200, _detail(person, exists.conversation))
    return Status(201, _detail(person, conversation))


@router.post("/conversations/direct", response={200: ConversationDetail})
def start_direct_chat(request: HttpRequest, payload: DirectIn) -> Any:
    """The direct chat with a person of the same organization (found or started)."""
    person = signed_in_person(request)
    organization = get_object_or_404(
        organizations_visible_to(person, timezone.now()), pk=payload.organization_id
    )
    other = _member_person(payload.person_id)
    return _detail(person, services.start_direct_chat(person, other, organization))


@router.get("/conversations/{conversation_id}", response={200: ConversationDetail})
def conversation_detail(request: HttpRequest, conversation_id: Id) -> Any:
    person = signed_in_person(request)
    return _detail(person, _conversation(person, conversation_id))


@router.patch("/conversations/{conversation_id}", response={200: ConversationDetail})
def update_conversation(
    request: HttpRequest, conversation_id: Id, payload: ConversationPatch
) -> Any:
    """Make a chat read-only (or writable again): admins, the owner, moderators."""
    person = signed_in_person(request)
    conversation = _conversation(person, conversation_id)
    return _detail(person, services.set_read_only(conversation, payload.is_read_only, by=person))


@router.delete("/conversations/{conversation_id}", response={204: None})
def delete_conversation(request: HttpRequest, conversation_id: Id) -> Any:
    person = signed_in_person(request)
    conversation = _conversation(person, conversation_id)
    services.delete_conversation(conversation, by=person)
    return Status(204, None)


@router.post("/conversations/{conversation_id}/members", response={200: ConversationDetail})
def add_members(request: HttpRequest, conversation_id: Id, payload: MembersIn) -> Any:
    person = signed_in_person(request)
    conversation = _conversation(person, conversation_id)
    services.add_members(conversation, _people(payload.person_ids), by=person)
    return _detail(person, conversation)


@router.post("/conversations/{conversation_id}/join", response={200: ConversationMemberOut})
def join_channel(request: HttpRequest, conversation_id: Id) -> Any:
    """Subscribe to a channel of one's own school (channels are listed by the organization)."""
    person = signed_in_person(request)
    conversation = get_object_or_404(Conversation, pk=conversation_id, deleted_at__isnull=True)
    joined = services.join_channel(person, conversation)
    return {"id": person.pk, "name": person.full_name, "role": joined.role}


@router.delete("/conversations/{conversation_id}/members/{person_id}", response={204: None})
def remove_member(request: HttpRequest, conversation_id: Id, person_id: Id) -> Any:
    """Leave (one's own id) or remove someone: they lose access at once."""
    person = signed_in_person(request)
    conversation = _conversation(person, conversation_id)
    removed = _member_person(person_id)
    services.remove_member(conversation, removed, by=person)
    return Status(204, None)


@router.patch(
    "/conversations/{conversation_id}/members/{person_id}",
    response={200: ConversationMemberOut},
)
def set_member_role(
    request: HttpRequest, conversation_id: Id, person_id: Id, payload: MemberRoleIn
) -> Any:
    """Appoint a moderator or a channel author (admins and the owner)."""
    person = signed_in_person(request)
    conversation = _conversation(person, conversation_id)
    member = _member_person(person_id)
    changed = services.set_member_role(conversation, member, payload.role, by=person)
    return {"id": member.pk, "name": member.full_name, "role": changed.role}


@router.get("/conversations/{conversation_id}/messages", response={200: list[MessageOut]})
def list_messages(request: HttpRequest, conversation_id: Id, page: Query[PageQuery]) -> Any:
    """The newest messages, or those before/after a known id; oldest first."""
    person = signed_in_person(request)
    conversation = _conversation(person, conversation_id)
    if selectors.membership(person, conversation) is None:
        raise PermissionDenied(gettext("Читать беседу могут её участники."))
    rows = selectors.messages_in(
        conversation, before=page.before, after=page.after, limit=page.limit
    )
    return [selectors.message_data(m) for m in rows]


@router.post(
    "/conversations/{conversation_id}/messages",
    response={200: MessageOut, 201: MessageOut, 409: ErrorOut},
)
def send_message(request: HttpRequest, conversation_id: Id, payload: MessageIn) -> Any:
    person = signed_in_person(request)
    access = _access(person, conversation_id)
    conversation = access.conversation
    reply_to = None
    if payload.reply_to is not None:
        reply_to = get_object_or_404(
            Message.objects.select_related("author"), pk=payload.reply_to, conversation=conversation
        )
    attachments = list(Attachment.objects.filter(pk__in=payload.attachment_ids, uploaded_by=person))
    if len(attachments) != len(set(payload.attachment_ids)):
        raise ValidationError(gettext("Вложение не найдено."), code="unknown_attachment")
    sent = services.submit_message(
        person,
        conversation,
        payload.text,
        access=access,
        idempotency_key=payload.idempotency_key,
        reply_to=reply_to,
        attachments=attachments,
    )
    # A repeat answers 200 with the message stored the first time.
    data = selectors.message_data(sent.message, sent.attachments if sent.created else None)
    return Status(201 if sent.created else 200, data)


@router.patch("/messages/{message_id}", response={200: MessageOut})
def edit_message(request: HttpRequest, message_id: Id, payload: MessageEdit) -> Any:
    person = signed_in_person(request)
    message = _message(person, message_id)
    return selectors.message_data(services.edit_message(message, payload.text, by=person))


@router.delete("/messages/{message_id}", response={200: MessageOut})
def delete_message(request: HttpRequest, message_id: Id) -> Any:
    """Soft deletion: the message stays in place, shown as deleted."""
    person = signed_in_person(request)
    message = _message(person, message_id)
    return selectors.message_data(services.delete_message(message, by=person))


@router.post("/messages/{message_id}/pin", response={200: MessageOut})
def pin_message(request: HttpRequest, message_id: Id, payload: PinIn) -> Any:
    person = signed_in_person(request)
    message = _message(person, message_id)
    return selectors.message_data(services.pin_message(message, payload.pinned, by=person))


@router.post("/conversations/{conversation_id}/read", response={200: ReadOut})
def mark_read(request: HttpRequest, conversation_id: Id, payload: ReadIn) -> Any:
    person = signed_in_person(request)
    conversation = _conversation(person, conversation_id)
    member = services.mark_read(person, conversation, payload.up_to)
    return {"read_up_to": member.read_up_to, "unread": selectors.unread_count(person, conversation)}


def _pin(request: HttpRequest, conversation_id: int, pinned: bool) -> dict[str, Any]:
    person = signed_in_person(request)
    access = _access(person, conversation_id)
    if access.member is None:  # an admin moderating a chat is not in it: no list to pin to
        raise Http404
    member = services.pin_conversation(person, access.conversation, pinned)
    return {
        "conversation_id": member.conversation_id,
        "pinned_at": member.pinned_at.isoformat() if member.pinned_at else None,
    }


@router.put("/conversations/{conversation_id}/pin", response={200: PinnedOut})
def pin_conversation(request: HttpRequest, conversation_id: Id) -> Any:
    """Pin the chat to the top of one's own list; at most MAX_PINNED_CHATS (400 beyond)."""
    return _pin(request, conversation_id, True)


@router.delete("/conversations/{conversation_id}/pin", response={200: PinnedOut})
def unpin_conversation(request: HttpRequest, conversation_id: Id) -> Any:
    return _pin(request, conversation_id, False)


@router.post(
    "/conversations/{conversation_id}/attachments",
    response={201: AttachmentOut},
)
def upload_attachment(request: HttpRequest, conversation_id: Id, file: File[UploadedFile]) -> Any:
    """Upload a file, then send it with a message (attachment_ids). Checked by its bytes."""
    person = signed_in_person(request)
    conversation = _conversation(person, conversation_id)
    attachment = services.upload_attachment(person, conversation, file)
    return Status(201, selectors.attachment_data(attachment))


@router.get("/organizations/{organization_id}/channels", response=list[ConversationOut])
def organization_channels(request: HttpRequest, organization_id: Id) -> list[dict[str, Any]]:
    """Channels of one of the caller's organizations, to join."""
    person = signed_in_person(request)
    organization = get_object_or_404(
        organizations_visible_to(person, timezone.now()), pk=organization_id
    )
    channels = Conversation.objects.filter(
        organization=organization, kind=Conversation.Kind.CHANNEL, deleted_at__isnull=True
    ).order_by("title")
    now = timezone.now()
    return [selectors.conversation_data(c) for c in channels if selectors.may_join(person, c, now)]

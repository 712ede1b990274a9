"""Reads about conversations: who may do what at a moment, lists, unread counts, message data."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import (
    Count,
    Exists,
    F,
    IntegerField,
    Max,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
)
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone
from django.utils.text import Truncator

from parta.accounts.models import Person, Role, RoleGrant
from parta.accounts.selectors import (
    STAFF_ROLES,
    children_of,
    class_at,
    grants_held_at,
    holds_role,
)
from parta.messaging.models import Attachment, Conversation, ConversationMember, Message
from parta.structure.models import Organization, SchoolClass


def may_create_group(roles: Iterable[str]) -> bool:
    """Whether these roles at a school make group chats and channels: students and parents
    write in the chats they are added to and in direct chats only."""
    return bool(set(roles) & STAFF_ROLES)


def group_chat_organizations(memberships: dict[Organization, list[str]]) -> list[Organization]:
    """Where the person, with these `current_memberships`, may create group chats."""
    return [org for org, roles in memberships.items() if may_create_group(roles)]


def membership(person: Person, conversation: Conversation) -> ConversationMember | None:
    """The person's open membership: closing it takes every right away at once."""
    return ConversationMember.objects.filter(
        conversation=conversation, person=person, left_at__isnull=True
    ).first()


def is_member(person: Person, conversation: Conversation) -> bool:
    return membership(person, conversation) is not None


def _still_in_organization(when: datetime) -> Exists:
    """For ConversationMember rows: the member holds some role in the conversation's
    organization at `when` (may_read's rule, row by row)."""
    return Exists(
        RoleGrant.objects.filter(
            grants_held_at(when),
            organization_id=OuterRef("conversation__organization_id"),
            person_id=OuterRef("person_id"),
        )
    )


def members_now(conversation: Conversation, when: datetime | None = None) -> QuerySet[Any, int]:
    """Ids of the members who may read the conversation now, to whom its live events go:
    someone who left the school gets none of them, even before their membership is closed.
    A query, so realtime.publish reads and numbers them in one statement."""
    return (
        ConversationMember.objects.filter(conversation=conversation, left_at__isnull=True)
        .filter(_still_in_organization(when or timezone.now()))
        .values_list("person_id", flat=True)
    )


def member_ids(conversation: Conversation, when: datetime | None = None) -> list[int]:
    return list(members_now(conversation, when))


def is_staff_only(conversation: Conversation) -> bool:
    """Staff chats and the staff channel are closed to students and parents."""
    return conversation.purpose == Conversation.Purpose.STAFF


@dataclass(frozen=True)
class Access:
    """What one person may do in one conversation at one moment: the conversation (with its
    organization, district and region), the person's open membership and what they hold in
    the school, read in one query by `access_to`. Every check of a conversation's rights
    asks it; a request reads it once and hands it to the service."""

    person: Person
    conversation: Conversation
    member: ConversationMember | None
    when: datetime
    in_school: bool  # holds some role in the conversation's organization
    is_admin: bool
    is_staff: bool  # one of STAFF_ROLES

    @property
    def may_read(self) -> bool:
        """A member who still belongs to the organization: leaving the school (every role
        closed) takes its conversations away at once, even before the memberships close."""
        return self.conversation.deleted_at is None and self.member is not None and self.in_school

    @property
    def may_moderate(self) -> bool:
        """Owner and moderators of a group conversation, and the school's admins (not in
        direct chats)."""
        if self.conversation.purpose == Conversation.Purpose.DIRECT:
            return False
        return self.is_admin or (
            self.member is not None
            and self.member.role
            in (ConversationMember.Role.OWNER, ConversationMember.Role.MODERATOR)
        )

    @property
    def may_post(self) -> bool:
        if self.member is None or self.conversation.deleted_at is not None or not self.in_school:
            return False
        if self.conversation.kind == Conversation.Kind.CHANNEL:
            return self.is_admin or self.member.role in (
                ConversationMember.Role.OWNER,
                ConversationMember.Role.AUTHOR,
            )
        if self.conversation.is_read_only:
            return self.may_moderate
        return True

    @property
    def may_join(self) -> bool:
        """Anyone of the school may be in it now (staff-only ones: staff roles only)."""
        if self.conversation.purpose == Conversation.Purpose.NOTICES:
            return False
        return self.is_staff if is_staff_only(self.conversation) else self.in_school


def _school_flags(person: Person, when: datetime, organization: OuterRef) -> dict[str, Exists]:
    """Annotations for Access: what the person holds at `when` in the organization that
    `organization` names in the outer query."""
    grants = RoleGrant.objects.filter(
        grants_held_at(when), person=person, organization_id=organization
    )
    return {
        "in_school": Exists(grants),
        "is_admin": Exists(grants.filter(role=Role.ADMIN)),
        "is_staff": Exists(grants.filter(role__in=list(STAFF_ROLES))),
    }


def access_to(person: Person, conversation: Conversation | int, when: datetime) -> Access | None:
    """`person`'s access to the conversation (or the conversation with that id) at `when`,
    in one query for a member; None when there is no such conversation."""
    pk = conversation if isinstance(conversation, int) else conversation.pk
    loaded = "organization__district__region"
    member = (
        ConversationMember.objects.filter(conversation_id=pk, person=person, left_at__isnull=True)
        .select_related(f"conversation__{loaded}")
        .annotate(**_school_flags(person, when, OuterRef("conversation__organization_id")))
        .first()
    )
    # Not a member: an admin may still moderate it, and the school's people may join some.
    held: Any = member or (
        Conversation.objects.select_related(loaded)
        .annotate(**_school_flags(person, when, OuterRef("organization_id")))
        .filter(pk=pk)
        .first()
    )
    if held is None:
        return None
    return Access(
        person=person,
        conversation=member.conversation if member is not None else held,
        member=member,
        when=when,
        in_school=held.in_school,
        is_admin=held.is_admin,
        is_staff=held.is_staff,
    )


def _access(person: Person, conversation: Conversation, when: datetime) -> Access:
    found = access_to(person, conversation, when)
    if found is None:
        raise Conversation.DoesNotExist
    return found


def may_moderate(person: Person, conversation: Conversation, when: datetime) -> bool:
    return _access(person, conversation, when).may_moderate


def may_read(person: Person, conversation: Conversation, when: datetime) -> bool:
    return _access(person, conversation, when).may_read


def may_post(person: Person, conversation: Conversation, when: datetime) -> bool:
    return _access(person, conversation, when).may_post


def may_join(person: Person, conversation: Conversation, when: datetime) -> bool:
    return _access(person, conversation, when).may_join


def unread_messages(
    person: Person, conversation: Any, read_up_to: Any, joined_at: Any
) -> QuerySet[Message]:
    """What counts as unread for a member: messages after their read mark, written since
    they joined, neither deleted nor service notices, nor their own. The membership's
    values may be OuterRefs (conversations_of counts them row by row)."""
    return Message.objects.filter(
        conversation=conversation,
        pk__gt=read_up_to,
        written_at__gte=joined_at,
        deleted_at__isnull=True,
        is_service=False,
    ).exclude(author=person)


def _open_memberships(person: Person) -> QuerySet[ConversationMember]:
    """The memberships whose conversations the person may read now."""
    return (
        ConversationMember.objects.filter(
            person=person, left_at__isnull=True, conversation__deleted_at__isnull=True
        )
        # The conversations of a school the person has left are gone from the list too.
        .filter(_still_in_organization(timezone.now()))
    )


def pinned_chats(person: Person) -> QuerySet[ConversationMember]:
    """The memberships the person has pinned, of chats still in their list: pins of a
    deleted chat or of a school left take no place of the limit."""
    return _open_memberships(person).filter(pinned_at__isnull=False)


def _unread_in(person: Person) -> Coalesce:
    """For ConversationMember rows: how many messages of others the member has not read
    (those written since joining, not deleted, not service notices)."""
    unread = (
        unread_messages(
            person, OuterRef("conversation"), OuterRef("read_up_to"), OuterRef("joined_at")
        )
        .order_by()
        .values("conversation")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(unread, output_field=IntegerField()), 0)


def _last_message(field: str) -> Subquery:
    """For ConversationMember rows: `field` of the conversation's newest message."""
    return Subquery(
        Message.objects.filter(conversation=OuterRef("conversation"))
        .order_by("-written_at", "-pk")
        .values(field)[:1]
    )


def conversations_of(person: Person) -> QuerySet[ConversationMember]:
    """The person's open memberships, each with its conversation, unread count, last time
    and last message's id: the pinned first (latest pinned on top), then by last activity."""
    return (
        _open_memberships(person)
        # The region gives each row its school's zone for the time shown.
        .select_related("conversation__organization__district__region")
        .annotate(
            unread=_unread_in(person),
            last_message_at=_last_message("written_at"),
            last_message_id=_last_message("pk"),
        )
        .order_by(
            F("pinned_at").desc(nulls_last=True),
            Coalesce("last_message_at", "conversation__created_at").desc(),
            "-pk",
        )
    )


@dataclass(frozen=True)
class ChatRow:
    """One row of the chat list: the membership (with `unread`) and the newest message."""

    member: ConversationMember
    unread: int
    last_message: Message | None

    @property
    def conversation(self) -> Conversation:
        return self.member.conversation

    @property
    def preview(self) -> str:
        return "" if self.last_message is None else preview_text(self.last_message)


def chat_list(person: Person) -> list[ChatRow]:
    """The chat list in two queries however many chats: the rows, then their last
    messages with authors. A member reads every message of the chat, so the preview shows
    nothing they could not open (a deleted one shows no text: see `preview_text`)."""
    rows = list(conversations_of(person))
    ids = [row.last_message_id for row in rows if row.last_message_id]  # type: ignore[attr-defined]
    last = Message.objects.select_related("author").in_bulk(ids) if ids else {}
    return [
        ChatRow(
            member=row,
            unread=row.unread,  # type: ignore[attr-defined]
            last_message=last.get(row.last_message_id),  # type: ignore[attr-defined]
        )
        for row in rows
    ]


PREVIEW_LENGTH = 100


def preview_text(message: Message) -> str:
    """The first line of a message's text, trimmed, for the chat list; empty for a deleted
    message (the page says what it is, in the reader's language)."""
    if message.deleted_at is not None:
        return ""
    first = next((line.strip() for line in message.text.splitlines() if line.strip()), "")
    return Truncator(first).chars(PREVIEW_LENGTH)


@dataclass(frozen=True)
class UnreadTotal:
    """The unread messages of all the person's chats, and the newest message id there was
    when they were counted: a live tab adds only messages above it (realtime may replay)."""

    total: int
    newest: int


def unread_total(person: Person) -> UnreadTotal:
    """What the menu and the tab title show, in one aggregate query."""
    found = (
        _open_memberships(person)
        .annotate(unread=_unread_in(person), last_id=_last_message("pk"))
        .aggregate(total=Sum("unread"), newest=Max("last_id"))
    )
    return UnreadTotal(total=found["total"] or 0, newest=found["newest"] or 0)


def unread_count(person: Person, conversation: Conversation) -> int:
    row = conversations_of(person).filter(conversation=conversation).first()
    return row.unread if row is not None else 0  # type: ignore[attr-defined]


def messages_in(
    conversation: Conversation,
    *,
    before: int | None = None,
    after: int | None = None,
    limit: int = 50,
) -> list[Message]:
    """A page of messages, oldest first: the newest `limit`, or those around a known id."""
    rows = Message.objects.filter(conversation=conversation).select_related(
        "author", "reply_to__author"
    )
    rows = rows.prefetch_related(
        Prefetch("attachments", queryset=Attachment.objects.order_by("pk"))
    )
    if after is not None:
        return list(rows.filter(pk__gt=after).order_by("pk")[:limit])
    if before is not None:
        rows = rows.filter(pk__lt=before)
    return list(reversed(rows.order_by("-pk")[:limit]))


def pinned_in(conversation: Conversation) -> list[Message]:
    return list(
        Message.objects.filter(
            conversation=conversation, pinned_at__isnull=False, deleted_at__isnull=True
        )
        .select_related("author")
        .order_by("-pinned_at")
    )


def attachment_data(attachment: Attachment) -> dict[str, Any]:
    return {
        "id": attachment.pk,
        "kind": attachment.kind,
        "name": attachment.original_name,
        "content_type": attachment.content_type,
        "size": attachment.size,
        "width": attachment.width,
        "height": attachment.height,
        "url": reverse("messaging:attachment", args=[attachment.pk]),
        "preview_url": (
            reverse("messaging:attachment-preview", args=[attachment.pk])
            if attachment.preview
            else None
        ),
    }


def message_data(message: Message, attachments: list[Attachment] | None = None) -> dict[str, Any]:
    """What members see of a message: a deleted one keeps its place but not its text.
    `attachments`: the message's files when the caller has them (a send just stored them)."""
    deleted = message.deleted_at is not None
    reply = message.reply_to
    return {
        "id": message.pk,
        "conversation_id": message.conversation_id,
        "author": {
            "id": message.author_id,
            "name": message.author.full_name,
            "short_name": message.author.short_name,
        },
        "written_at": message.written_at.isoformat(),
        "text": "" if deleted else message.text,
        "is_service": message.is_service,
        "service_kind": message.service_kind,
        "edited": message.edited_at is not None,
        "deleted": deleted,
        "pinned": message.pinned_at is not None,
        "reply_to": (
            None
            if reply is None
            else {
                "id": reply.pk,
                "author": reply.author.full_name,
                # As _quote.html's truncatechars, so live and drawn quotes agree.
                "text": "" if reply.deleted_at else Truncator(reply.text).chars(140),
            }
        ),
        "attachments": []
        if deleted
        else [
            attachment_data(a)
            for a in (
                message.attachments.all()
                if attachments is None
                else sorted(attachments, key=lambda a: a.pk)
            )
        ],
    }


def conversation_data(conversation: Conversation) -> dict[str, Any]:
    return {
        "id": conversation.pk,
        "organization_id": conversation.organization_id,
        "kind": conversation.kind,
        "purpose": conversation.purpose,
        "title": conversation.title,
        "school_class_id": conversation.school_class_id,
        "is_read_only": conversation.is_read_only,
        "created_at": conversation.created_at.isoformat(),
    }


def _class_chats(purpose: str, class_ids: Iterable[int]) -> Q:
    """The chats of one purpose (CLASS: with the students; PARENTS: with their parents) of
    these classes."""
    return Q(kind=Conversation.Kind.CHAT, purpose=purpose, school_class_id__in=list(class_ids))


def _open_to(
    person: Person, organization: Organization, wanted: Q, when: datetime
) -> list[Conversation]:
    """The school's live conversations matching `wanted` that `person` may join at `when`
    (existing ones only: made by then, not deleted; never a direct chat or notices)."""
    found = (
        Conversation.objects.filter(wanted, organization=organization, deleted_at__isnull=True)
        .exclude(purpose__in=[Conversation.Purpose.DIRECT, Conversation.Purpose.NOTICES])
        .filter(created_at__lte=when)
        .order_by("pk")
    )
    return [conversation for conversation in found if may_join(person, conversation, when)]


def classes_of_children(parent: Person, organization: Organization, when: datetime) -> set[int]:
    """Ids of the classes where the parent's children are the school's students at `when`."""
    return {
        of_child.pk
        for child in children_of(parent)
        if holds_role(child, organization, Role.STUDENT, when)
        and (of_child := class_at(child, when)) is not None
    }


def welcome_conversations(
    person: Person, organization: Organization, role: str, when: datetime
) -> list[Conversation]:
    """The school's live conversations a newcomer with `role` is added to (issue 15):
    everyone the school channel (INFO); the staff roles the staff channel and the chats of
    the teachers' class (`is_staff_class`); a student the class chats (CLASS) of her class
    now; a parent the parents' chats (PARENTS) of the classes of their children who are its
    students now. Existing ones only, every open one of each (a teacher has one per class).
    Each is checked by `may_join` as well, so nobody lands where the rules would refuse."""
    wanted = Q(kind=Conversation.Kind.CHANNEL, purpose=Conversation.Purpose.INFO)
    if role in STAFF_ROLES:
        wanted |= Q(kind=Conversation.Kind.CHANNEL, purpose=Conversation.Purpose.STAFF)
        wanted |= Q(kind=Conversation.Kind.CHAT, school_class__is_staff_class=True)
    elif role == Role.STUDENT:
        school_class = class_at(person, when)
        if school_class is not None:
            wanted |= _class_chats(Conversation.Purpose.CLASS, [school_class.pk])
    elif role == Role.PARENT:
        wanted |= _class_chats(
            Conversation.Purpose.PARENTS, classes_of_children(person, organization, when)
        )
    return _open_to(person, organization, wanted, when)


def class_chats_to_join(
    person: Person, purpose: str, school_class: SchoolClass, when: datetime
) -> list[Conversation]:
    """The class's live chats of `purpose` that `person` may join at `when` and is not in."""
    return [
        conversation
        for conversation in _open_to(
            person, school_class.organization, _class_chats(purpose, [school_class.pk]), when
        )
        if not is_member(person, conversation)
    ]


def class_chats_joined(
    person: Person, purpose: str, school_class: SchoolClass
) -> QuerySet[Conversation]:
    """The class's live chats of `purpose` that `person` is an open member of."""
    return Conversation.objects.filter(
        _class_chats(purpose, [school_class.pk]),
        deleted_at__isnull=True,
        members__person=person,
        members__left_at__isnull=True,
    ).order_by("pk")

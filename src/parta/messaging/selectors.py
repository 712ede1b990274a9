"""Reads about conversations: who may do what at a moment, lists, unread counts, message data."""

from datetime import datetime
from typing import Any

from django.db.models import (
    Count,
    Exists,
    IntegerField,
    OuterRef,
    Prefetch,
    QuerySet,
    Subquery,
)
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone

from parta.accounts.models import Person, Role, RoleGrant
from parta.accounts.selectors import STAFF_ROLES, grants_held_at, roles_at
from parta.messaging.models import Attachment, Conversation, ConversationMember, Message


def membership(person: Person, conversation: Conversation) -> ConversationMember | None:
    """The person's open membership: closing it takes every right away at once."""
    return ConversationMember.objects.filter(
        conversation=conversation, person=person, left_at__isnull=True
    ).first()


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


def member_ids(conversation: Conversation, when: datetime | None = None) -> list[int]:
    """The members who may read the conversation now, to whom its live events go: someone
    who left the school gets none of them, even before their membership is closed."""
    return list(
        ConversationMember.objects.filter(conversation=conversation, left_at__isnull=True)
        .filter(_still_in_organization(when or timezone.now()))
        .values_list("person_id", flat=True)
    )


def is_staff_only(conversation: Conversation) -> bool:
    """Staff chats and the staff channel are closed to students and parents."""
    return conversation.purpose == Conversation.Purpose.STAFF


def may_moderate(person: Person, conversation: Conversation, when: datetime) -> bool:
    """Owner and moderators of a group conversation, and the school's admins (not in direct)."""
    if conversation.purpose == Conversation.Purpose.DIRECT:
        return False
    if Role.ADMIN in roles_at(person, conversation.organization, when):
        return True
    member = membership(person, conversation)
    return member is not None and member.role in (
        ConversationMember.Role.OWNER,
        ConversationMember.Role.MODERATOR,
    )


def may_read(person: Person, conversation: Conversation, when: datetime) -> bool:
    """A member who still belongs to the organization: leaving the school (every role
    closed) takes its conversations away at once, even before the memberships are closed."""
    return (
        conversation.deleted_at is None
        and membership(person, conversation) is not None
        and bool(roles_at(person, conversation.organization, when))
    )


def may_post(person: Person, conversation: Conversation, when: datetime) -> bool:
    member = membership(person, conversation)
    if member is None or conversation.deleted_at is not None:
        return False
    roles = roles_at(person, conversation.organization, when)
    if not roles:
        return False
    if conversation.kind == Conversation.Kind.CHANNEL:
        return (
            member.role in (ConversationMember.Role.OWNER, ConversationMember.Role.AUTHOR)
            or Role.ADMIN in roles
        )
    if conversation.is_read_only:
        return may_moderate(person, conversation, when)
    return True


def may_join(person: Person, conversation: Conversation, when: datetime) -> bool:
    """Anyone of the school may be in it now (staff-only ones: staff roles only)."""
    if conversation.purpose == Conversation.Purpose.NOTICES:
        return False
    roles = roles_at(person, conversation.organization, when)
    if is_staff_only(conversation):
        return bool(roles & STAFF_ROLES)
    return bool(roles)


def conversations_of(person: Person) -> QuerySet[ConversationMember]:
    """The person's open memberships, each with its conversation, unread count and last time."""
    unread = (
        Message.objects.filter(
            conversation=OuterRef("conversation"),
            pk__gt=OuterRef("read_up_to"),
            written_at__gte=OuterRef("joined_at"),
            deleted_at__isnull=True,
            is_service=False,
        )
        .exclude(author=person)
        .order_by()
        .values("conversation")
        .annotate(n=Count("pk"))
        .values("n")
    )
    last_at = (
        Message.objects.filter(conversation=OuterRef("conversation"))
        .order_by("-written_at", "-pk")
        .values("written_at")[:1]
    )
    return (
        ConversationMember.objects.filter(
            person=person, left_at__isnull=True, conversation__deleted_at__isnull=True
        )
        # The conversations of a school the person has left are gone from the list too.
        .filter(_still_in_organization(timezone.now()))
        .select_related("conversation__organization")
        .annotate(
            unread=Coalesce(Subquery(unread, output_field=IntegerField()), 0),
            last_message_at=Subquery(last_at),
        )
        .order_by(Coalesce("last_message_at", "conversation__created_at").desc(), "-pk")
    )


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


def message_data(message: Message) -> dict[str, Any]:
    """What members see of a message: a deleted one keeps its place but not its text."""
    deleted = message.deleted_at is not None
    reply = message.reply_to
    return {
        "id": message.pk,
        "conversation_id": message.conversation_id,
        "author": {"id": message.author_id, "name": message.author.full_name},
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
                "text": "" if reply.deleted_at else reply.text[:140],
            }
        ),
        "attachments": [] if deleted else [attachment_data(a) for a in message.attachments.all()],
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

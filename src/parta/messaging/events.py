"""The realtime events of conversations: one builder per kind.

Every event carries `conversation_id` at the top of its payload, so a tab tells at once
whether an event is about the chat it shows, and goes out on the conversation's stream
(realtime.services.publish keeps each person's events of one stream in order). A builder
only says who hears what; the service that made the change publishes it, inside its
transaction, so nothing is heard of a change that was rolled back.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from django.db.models import QuerySet

from parta.accounts.models import Person
from parta.messaging.models import Attachment, Conversation, Message
from parta.messaging.selectors import conversation_data, members_now, message_data, preview_text
from parta.realtime.services import publish

ConversationKind = Literal[
    "conversation.created",
    "conversation.updated",
    "conversation.deleted",
    "conversation.member_joined",
    "conversation.member_left",
    "conversation.member_role",
    "conversation.read",
]
MessageKind = Literal["message.created", "message.edited", "message.deleted", "message.pinned"]


@dataclass(frozen=True)
class Event:
    """What realtime.services.publish takes: who, which kind, the payload, the stream."""

    people: Iterable[int] | QuerySet[Any, int]
    kind: str
    payload: dict[str, Any]
    stream: str

    def publish(self) -> None:
        publish(self.people, self.kind, self.payload, stream=self.stream)


def conversation_stream(conversation_id: int) -> str:
    """The realtime stream of a conversation's events: each person gets them in order."""
    return f"conversation-{conversation_id}"


def conversation_event(
    conversation: Conversation,
    kind: str,
    payload: dict[str, Any],
    *,
    people: Iterable[int] | QuerySet[Any, int] | None = None,
) -> Event:
    """An event about `conversation`, to `people` or else to its members who may read it now
    (calls' events are built on this too)."""
    return Event(
        people=members_now(conversation) if people is None else people,
        kind=kind,
        payload={"conversation_id": conversation.pk, **payload},
        stream=conversation_stream(conversation.pk),
    )


def _conversation_changed(kind: ConversationKind, conversation: Conversation) -> Event:
    return conversation_event(conversation, kind, {"conversation": conversation_data(conversation)})


def conversation_created(conversation: Conversation) -> Event:
    return _conversation_changed("conversation.created", conversation)


def conversation_updated(conversation: Conversation) -> Event:
    return _conversation_changed("conversation.updated", conversation)


def conversation_deleted(conversation: Conversation) -> Event:
    return conversation_event(conversation, "conversation.deleted", {})


def member_joined(conversation: Conversation, person: Person) -> Event:
    return conversation_event(
        conversation,
        "conversation.member_joined",
        {"conversation": conversation_data(conversation), "person_id": person.pk},
    )


def member_left(conversation: Conversation, person: Person, members_before: list[int]) -> Event:
    """To the members as they were before `person` left: the one who left hears of it too,
    so their open tabs drop the conversation."""
    return conversation_event(
        conversation,
        "conversation.member_left",
        {"conversation": conversation_data(conversation), "person_id": person.pk},
        people=members_before,
    )


def member_role(conversation: Conversation, person: Person, role: str) -> Event:
    return conversation_event(
        conversation, "conversation.member_role", {"person_id": person.pk, "role": role}
    )


def conversation_read(person: Person, conversation: Conversation, read_up_to: int) -> Event:
    """Only the reader's own tabs care: their unread badge goes down."""
    return conversation_event(
        conversation, "conversation.read", {"read_up_to": read_up_to}, people=[person.pk]
    )


def _message_changed(
    kind: MessageKind, message: Message, attachments: list[Attachment] | None = None
) -> Event:
    # `preview`: the chat list's line for the message, by the rule the list is drawn by.
    return conversation_event(
        message.conversation,
        kind,
        {"message": message_data(message, attachments), "preview": preview_text(message)},
    )


def message_created(message: Message, attachments: list[Attachment]) -> Event:
    """`attachments`: the files the send just stored (read again otherwise)."""
    return _message_changed("message.created", message, attachments)


def message_edited(message: Message) -> Event:
    return _message_changed("message.edited", message)


def message_deleted(message: Message) -> Event:
    return _message_changed("message.deleted", message)


def message_pinned(message: Message) -> Event:
    """Pinned or unpinned: the message's `pinned` says which."""
    return _message_changed("message.pinned", message)

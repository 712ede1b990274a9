"""The realtime events of a conversation's calls: one builder per kind.

They are conversation events (messaging.events): the chat's members hear them on the
conversation's stream, with `conversation_id`, and its page shows or hides «Присоединиться».
A call outside any conversation has no such events; its signaling sockets hear of it.
"""

from parta.calls.models import Call
from parta.calls.selectors import call_data
from parta.messaging.events import Event, conversation_event
from parta.messaging.models import Conversation


def call_started(call: Call, conversation: Conversation) -> Event:
    """`conversation`: the call's own."""
    return conversation_event(conversation, "call.started", {"call": call_data(call)})


def call_ended(call: Call, conversation: Conversation) -> Event:
    return conversation_event(conversation, "call.ended", {"call": call_data(call)})

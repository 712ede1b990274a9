"""Pushes for new messages, sent on the job queue: outside the sender's request, after its
commit (realtime.services tells on_published of every event it published)."""

from typing import Any

from django.utils import timezone
from huey.contrib.djhuey import db_task

from parta.notifications.selectors import pushes_for
from parta.notifications.services import send


@db_task(name="notifications.push_message")
def push_message(message_id: int, people: list[int]) -> None:
    now = timezone.now()
    send(pushes_for(message_id, people, now), now)


def on_published(people: list[int], kind: str, payload: dict[str, Any]) -> None:
    """A realtime listener: each new message's audience is queued for its pushes (a large
    channel's fan-out tells it chunk by chunk, each chunk one job)."""
    if kind == "message.created":
        push_message(payload["message"]["id"], people)

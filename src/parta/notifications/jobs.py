"""Pushes for new messages, sent on the job queue: outside the sender's request, after its
commit (realtime.services tells on_published of every event it published); and the email
fallback's scan, every five minutes, for the chats whose email is due. Parta's personal
notices (a welcome, a digest) are pushed to their person too, and so is a rejected join
request."""

from typing import Any

from django.db import transaction
from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from parta.invites.models import JoinRequest
from parta.messaging.services import ServiceNotice
from parta.notifications.selectors import (
    anyone_to_tell,
    emailed_of,
    pushes_for,
    rejection_pushes,
    told_of,
)
from parta.notifications.services import note_unread, send, send_chat_emails


@db_task(name="notifications.push_message")
def push_message(message_id: int, people: list[int]) -> None:
    """The pushes and the email fallback's marks for one new message; one query and done
    when none of `people` takes pushes or emails (the common case in a new school)."""
    if not anyone_to_tell(people):
        return
    now = timezone.now()
    told = told_of(message_id, people, now)
    send(pushes_for(told, now), now)
    # The chat emails summarise people's messages; a personal notice is pushed only.
    if told is not None and not told.message.is_service:
        note_unread(emailed_of(told), told.message, now)


@db_periodic_task(crontab(minute="*/5"), name="notifications.chat_emails")
def chat_emails() -> None:
    send_chat_emails(timezone.now())


def on_published(people: list[int], kind: str, payload: dict[str, Any]) -> None:
    """A realtime listener: each new message's audience but its author is queued for its
    pushes (a large channel's fan-out tells it chunk by chunk, each chunk one job). No
    query here: the send's request stays within its statements, and the job finds out in
    one query whether anyone is to be told (a check here would cost every send a round
    trip once most chats have someone with pushes)."""
    if kind != "message.created":
        return
    message = payload["message"]
    # Parta's notice to a person is "written" by that person, and is for them.
    personal = message["is_service"] and ServiceNotice.is_personal(message["service_kind"])
    others = [pk for pk in people if personal or pk != message["author"]["id"]]
    if others and (personal or not message["is_service"]):
        push_message(message["id"], others)


@db_task(name="notifications.push_rejection")
def push_rejection(join_request_id: int) -> None:
    now = timezone.now()
    join_request = JoinRequest.objects.select_related("organization__district__region").get(
        pk=join_request_id
    )
    send(rejection_pushes(join_request, now), now)


def on_rejected(sender: object, join_request: JoinRequest, **kwargs: Any) -> None:
    """After the rejection commits: the job reads it, and a rolled-back one tells no one."""
    pk = join_request.pk
    transaction.on_commit(lambda: push_rejection(pk))

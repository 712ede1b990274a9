"""Closing a person's open sockets when they sign out or leave an organization.

Every socket of a signed-in person (events, and any other app's consumer) joins the
person's sessions group and handles "sessions.close" messages: {"session_key": the browser
session that signed out, or None when the person left organization "organization_id"}.
What a socket does with the second kind is its own business: realtime carries the message
and knows nothing of chats or calls.

A close message is sent after the transaction commits. The channel layer hands a channel's
messages over in order, so an event published after the sign-out reaches a socket only after
its close message, and a closing socket delivers nothing more. If a close message is lost
(a channel layer delivers at most once), a socket notices on its next ping or heartbeat,
where it reads the session again (`signed_in`).
"""

from importlib import import_module
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.contrib.auth import SESSION_KEY, user_logged_out
from django.db import transaction
from django.http import HttpRequest

from parta.accounts.models import Person
from parta.accounts.signals import left_organization
from parta.structure.models import Organization


def sessions_group(person_id: int) -> str:
    """The channel-layer group of all of one person's open sockets, whatever they carry."""
    return f"sessions-{person_id}"


def close_sockets(
    person_id: int, *, session_key: str | None = None, organization_id: int | None = None
) -> None:
    """Once the caller's transaction commits, tell the person's sockets to close: those of
    the browser session `session_key` (signed out), or, without one, every socket that
    depends on the person's place in organization `organization_id`."""
    message = {
        "type": "sessions.close",
        "session_key": session_key,
        "organization_id": organization_id,
    }
    # robust: the sign-out or removal stands even if the channel layer is down; sockets
    # then find out at their next ping or heartbeat.
    transaction.on_commit(lambda: _send(person_id, message), robust=True)


def _send(person_id: int, message: dict[str, Any]) -> None:
    channel_layer = get_channel_layer()
    if channel_layer is not None:
        async_to_sync(channel_layer.group_send)(sessions_group(person_id), message)


def signed_in(session_key: str | None, person_id: int) -> bool:
    """The browser session `session_key` still exists, has not expired and signs in
    `person_id` — read afresh from the session store, not from a socket's cached copy."""
    if not session_key:
        return False
    store = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
    return bool(store.get(SESSION_KEY) == str(person_id))


def _on_sign_out(sender: object, request: HttpRequest, user: Person | None, **kwargs: Any) -> None:
    # Sent by logout() before the session is flushed, so its key is still known here.
    if user is not None and request.session.session_key:
        close_sockets(user.pk, session_key=request.session.session_key)


def _on_left_organization(
    sender: object, person: Person, organization: Organization, **kwargs: Any
) -> None:
    close_sockets(person.pk, organization_id=organization.pk)


def connect_signals() -> None:
    user_logged_out.connect(_on_sign_out, dispatch_uid="parta.realtime.sessions.sign_out")
    left_organization.connect(
        _on_left_organization, dispatch_uid="parta.realtime.sessions.left_organization"
    )

"""WebSockets to the real ASGI application for the realtime tests."""

from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import Client

from parta.asgi import application


def session_cookie(person) -> str:
    client = Client()
    client.force_login(person)
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def socket(cookie: str | None = None, path: str = "/ws/events/") -> WebsocketCommunicator:
    """A WebSocket to the real ASGI application, from an allowed origin, signed in by `cookie`."""
    headers = [(b"host", b"127.0.0.1"), (b"origin", b"http://127.0.0.1")]
    if cookie:
        headers.append((b"cookie", f"{settings.SESSION_COOKIE_NAME}={cookie}".encode()))
    return WebsocketCommunicator(application, path, headers=headers)


async def open_socket(person, path: str = "/ws/events/") -> WebsocketCommunicator:
    cookie = await database_sync_to_async(session_cookie)(person)
    communicator = socket(cookie, path)
    connected, _ = await communicator.connect()
    assert connected
    return communicator

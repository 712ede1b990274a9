"""WebSocket routes."""

from typing import Any

from django.urls import path

from parta.calls.consumers import CallConsumer
from parta.realtime.consumers import PersonEventsConsumer

websocket_urlpatterns: list[Any] = [
    path("ws/events/", PersonEventsConsumer.as_asgi()),
    path("ws/calls/<int:call_id>/", CallConsumer.as_asgi()),
]

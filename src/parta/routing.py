"""WebSocket routes; the realtime app adds its consumer here."""

from typing import Any

websocket_urlpatterns: list[Any] = []

"""ASGI entry point: HTTP through Django, WebSockets through Channels."""

import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from asgiref.sync import ThreadSensitiveContext
from django.conf import settings
from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "parta.settings")
django_asgi_app = get_asgi_application()


class RequestThreads:
    """Each HTTP request's sync work on one thread, taken from threads kept between
    requests. Django's handler starts a thread for every request and joins it at the end
    (a ThreadSensitiveContext with a new one-thread executor): at 50 msg/s that start and
    join were 15% of the event loop's py-spy samples, and the loop is the process's busiest
    thread. An outer context with an executor of its own is the one asgiref uses, so
    Django's inner one changes nothing. A burst beyond `kept` threads gets threads that
    stop after their request, as before (all of them when `kept` is 0)."""

    def __init__(self, app: Any, kept: int) -> None:
        self.app = app
        self.kept = kept
        self.idle: list[ThreadPoolExecutor] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not self.kept:
            await self.app(scope, receive, send)
            return
        executor = self.idle.pop() if self.idle else ThreadPoolExecutor(1, "parta-request")
        try:
            async with ThreadSensitiveContext(executor=executor):
                await self.app(scope, receive, send)
        finally:
            if len(self.idle) < self.kept:
                self.idle.append(executor)
            else:
                executor.shutdown(wait=False)


from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from parta.realtime.fanout import lifespan  # noqa: E402
from parta.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "lifespan": lifespan,
        "http": RequestThreads(django_asgi_app, settings.PARTA_KEPT_REQUEST_THREADS),
        "websocket": AllowedHostsOriginValidator(
            AuthMiddlewareStack(URLRouter(websocket_urlpatterns))
        ),
    }
)

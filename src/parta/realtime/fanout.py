"""The fan-out thread: numbers and delivers the events that services.publish left for after
the sender's commit (audiences larger than INLINE_AUDIENCE). One thread per server
process, woken by each such commit; it also looks for work every few seconds, so a
fan-out whose process was killed half-way is finished by whichever process looks next.
"""

import logging
import threading
from typing import Any

from django.db import DatabaseError, connections

from parta.realtime.services import fan_out_next

log = logging.getLogger(__name__)

# How often an idle thread looks for fan-outs that no commit in this process announced.
SWEEP_EVERY = 5.0

_wanted = threading.Event()
_started = threading.Lock()
_thread: threading.Thread | None = None


def wake() -> None:
    """There is a fan-out to do (called on commit): start the thread if need be."""
    start()
    _wanted.set()


def start() -> None:
    global _thread
    with _started:
        if _thread is None or not _thread.is_alive():
            _thread = threading.Thread(target=_run, name="parta-fanout", daemon=True)
            _thread.start()


def _run() -> None:
    while True:
        _wanted.wait(SWEEP_EVERY)
        _wanted.clear()
        try:
            while fan_out_next():
                pass
        except DatabaseError:
            # The rows stay pending; the next wake or sweep tries again.
            log.exception("live events: fan-out failed, will retry")
        finally:
            # Back to the pool (PostgreSQL) or closed: the thread idles most of the time.
            connections.close_all()


async def lifespan(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """ASGI lifespan: each server process starts its thread, so that fan-outs left by a
    process that died are finished even before the next large post."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            start()
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return

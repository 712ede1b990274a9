"""The fan-out task: numbers and delivers the events that services.publish left for after
the sender's commit (audiences larger than INLINE_AUDIENCE). Each server process runs one,
started by the ASGI lifespan on the server's event loop and woken by each such commit in
that process; it also looks for work every few seconds, so a fan-out announced in another
process (a command, the job consumer) or left half-done by a process that was killed is
finished by whichever server looks next.

It runs on the server's loop, not in a thread of its own, because live events must be
handed to the channel layer from that loop: the in-memory layer's queues belong to it, and
channels_redis keeps a connection pool per loop (a thread with a loop of its own delivered
the events of a 500-member channel seconds late, some after the benchmark gave up).
"""

import asyncio
import contextlib
import logging
from typing import Any

from asgiref.sync import sync_to_async
from django.db import DatabaseError, connections

from parta.realtime.services import fan_out_next

log = logging.getLogger(__name__)

# How often an idle task looks for fan-outs that no commit in this process announced.
SWEEP_EVERY = 5.0

_loop: asyncio.AbstractEventLoop | None = None
_wanted: asyncio.Event | None = None


def wake() -> None:
    """There is a fan-out to do (called on commit, from any thread). In a process without
    a server there is nobody to wake: a server's sweep finds the row."""
    loop, wanted = _loop, _wanted
    if loop is not None and wanted is not None:
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
            loop.call_soon_threadsafe(wanted.set)


async def run() -> None:
    global _loop, _wanted
    _loop, _wanted = asyncio.get_running_loop(), asyncio.Event()
    try:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(_wanted.wait(), SWEEP_EVERY)
            _wanted.clear()
            try:
                # A worker thread, not the one that serves the sockets' database reads:
                # a chunk may wait for the write lock.
                await sync_to_async(_drain, thread_sensitive=False)()
            except DatabaseError:
                # The rows stay pending; the next wake or sweep tries again.
                log.exception("live events: fan-out failed, will retry")
    finally:
        _loop = _wanted = None


def _drain() -> None:
    try:
        while fan_out_next():
            pass
    finally:
        # Back to the pool (PostgreSQL) or closed: the worker thread is not a request's.
        connections.close_all()


async def lifespan(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """ASGI lifespan: each server process runs its fan-out task from start to shutdown."""
    task: asyncio.Task[None] | None = None
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            task = asyncio.create_task(run())
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await send({"type": "lifespan.shutdown.complete"})
            return

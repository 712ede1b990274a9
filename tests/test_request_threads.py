"""parta.asgi.RequestThreads: a request's sync work runs on one thread, and the next
request reuses a kept thread instead of starting one (Django's handler starts one per
request)."""

import asyncio
import threading

from asgiref.sync import ThreadSensitiveContext, sync_to_async

from parta.asgi import RequestThreads


class _App:
    """An ASGI app that does what Django's handler does: a context of its own, then sync
    work on the thread-sensitive thread, twice (the view and the request_finished signal)."""

    def __init__(self, together: int = 1) -> None:
        self.threads: list[tuple[int, int]] = []
        self.names: list[str] = []
        # Each request waits inside until `together` of them are in.
        self.together = together
        self.inside = 0
        self.all_inside = asyncio.Event()

    async def __call__(self, scope, receive, send) -> None:
        async with ThreadSensitiveContext():
            first = await sync_to_async(threading.get_ident)()
            self.inside += 1
            if self.inside >= self.together:
                self.all_inside.set()
            await self.all_inside.wait()
            second = await sync_to_async(threading.get_ident)()
            self.names.append(await sync_to_async(lambda: threading.current_thread().name)())
        self.threads.append((first, second))


async def test_requests_one_after_another_run_on_one_kept_thread():
    app = _App()
    threads = RequestThreads(app, kept=16)

    for _ in range(3):
        await threads({"type": "http"}, None, None)

    assert len({pair for pair in app.threads}) == 1
    first, second = app.threads[0]
    assert first == second != threading.get_ident()
    assert len(threads.idle) == 1
    assert app.names[0].startswith("parta-request")


async def test_concurrent_requests_get_threads_of_their_own_and_only_so_many_are_kept():
    app = _App(together=3)
    threads = RequestThreads(app, kept=2)

    await asyncio.gather(*(threads({"type": "http"}, None, None) for _ in range(3)))

    assert len({first for first, _ in app.threads}) == 3
    assert all(first == second for first, second in app.threads)
    assert len(threads.idle) == 2


async def test_with_none_kept_each_request_gets_a_thread_of_its_own():
    app = _App()
    threads = RequestThreads(app, kept=0)

    for _ in range(2):
        await threads({"type": "http"}, None, None)

    # Django's own context's thread, started for the request and stopped after it.
    assert [name.startswith("parta-request") for name in app.names] == [False, False]
    assert threads.idle == []

"""The channel layers as Parta runs them: in memory for the embedded default, Redis for
PostgreSQL + Redis.

channels' in-memory layer looks through every channel and every group for expired entries
on each receive and on each group send, so its cost grows with the product of the messages
and the open sockets: at 50 msg/s into a 30-member chat that scan alone took 110 of 2,180
py-spy samples of the server (5%), and at 2,000 sockets it would be 60 times that. Here it
runs at most once a second; an entry then lives up to a second past its expiry. Its group
send also made a task, a deep copy and a throw-away asyncio.Queue for every channel of the
group (channels' `setdefault(channel, Queue(...))`): at 50 msg/s into a 30-member chat that
was 37% of the event loop's samples. Here a group's message is put straight into each of
its channels' queues, one object shared by them all (Parta's handlers only read it).

A sender in a request's thread hands its events to the event loop without waiting for
it (`group_send_many_soon`): the thread waited for the loop in 12,285 of 17,157 samples
of a send, and the loop is the busiest thread of the process.

channels_redis 4.3 with the redis 8 client loses live sockets in two ways, both fixed here
rather than in every consumer:

- Its idle receive is a BZPOPMIN that blocks for 5 s, and redis 8 gives every client a 5 s
  socket read timeout: the answer to a pop that found nothing arrives as the client gives
  up, the receive raises «Timeout reading from …», and the socket's consumer dies (3 of 30
  sockets in 15 s at 10 msg/s). Here the pop always blocks for less than half the read
  timeout, so an empty answer is back long before the client stops waiting.
- Its pool raises MaxConnectionsError once 100 commands are in flight; when 2,000 sockets
  closed at once their group_discard calls raised it 500–1,700 times. Here a blocking pool
  lends each command one of a bounded set of connections and makes the others wait their
  turn (Redis answers each in well under a millisecond).

It sends to many groups in two round trips (group_send_many): the library's group_send
takes four per group, so a post's 500 per-person groups cost 2,000, and group_send was
1,183 of 5,180 py-spy samples of the servers at 5 posts/s into a 500-member channel.

And a process takes its sockets' messages off Redis many at a time: the library pops one
message per four round trips (restore the backup, pop, back it up, clear the backup), one
pop at a time for every socket of the process, so at 50 msg/s into a 30-member chat the
sockets' deliveries queued 2–14 s behind the sends. Here the receiving socket that holds
the library's receive lock takes up to `receive_batch` messages in one script and hands
the others to their sockets' buffers, exactly where the library puts the one it pops; it
keeps the library's backup queue, so a receive cancelled mid-pop loses nothing.
"""

import asyncio
import logging
import time
from collections import defaultdict
from copy import deepcopy
from typing import Any

from channels.exceptions import ChannelFull
from channels.layers import InMemoryChannelLayer as BaseInMemoryChannelLayer
from channels_redis.core import RedisChannelLayer as BaseRedisChannelLayer
from redis.asyncio import BlockingConnectionPool

logger = logging.getLogger(__name__)

Sends = list[tuple[str, dict[str, Any]]]


class InMemoryChannelLayer(BaseInMemoryChannelLayer):
    # Seconds between two scans for expired messages and group memberships.
    clean_every = 1.0
    _cleaned_at = float("-inf")

    def __init__(self, capacity: int = 1000, **config: Any) -> None:
        # A socket's queue: events of a busy chat wait here while the loop is behind (the
        # library's 100 dropped them at 50 msg/s, and the tabs caught up from the log).
        super().__init__(capacity=capacity, **config)

    # The loop of the latest group_add: the one the process's sockets live in.
    _loop: asyncio.AbstractEventLoop | None = None

    async def group_add(self, group: str, channel: str) -> None:
        self._loop = asyncio.get_running_loop()
        await super().group_add(group, channel)

    async def send(self, channel: str, message: dict[str, Any]) -> None:
        assert isinstance(message, dict), "message is not a dict"  # noqa: S101 - the library's check
        self.require_valid_channel_name(channel)
        try:
            self._queue(channel).put_nowait((time.time() + self.expiry, deepcopy(message)))
        except asyncio.QueueFull as full:
            raise ChannelFull(channel) from full

    async def receive(self, channel: str) -> dict[str, Any]:
        self.require_valid_channel_name(channel)
        self._clean_expired()
        queue = self._queue(channel)
        try:
            _, message = await queue.get()
        finally:
            # As the library does: a channel whose socket closed leaves nothing behind.
            if queue.empty():
                self.channels.pop(channel, None)
        return message

    async def group_send(self, group: str, message: dict[str, Any]) -> None:
        self._put_many([(group, message)])

    async def group_send_many(self, sends: Sends) -> None:
        """group_send of each message to its group, at once."""
        self._put_many(sends)

    def group_send_many_soon(self, sends: Sends) -> bool:
        """group_send_many from a thread, handed to the sockets' loop without waiting for
        it: the events are in the log already, so one that never arrives is caught up by
        its tab. False (nothing sent) when no such loop runs or this thread runs it: the
        caller then sends and waits."""
        loop = self._loop
        if loop is None or loop.is_closed() or not loop.is_running():
            return False
        try:
            if asyncio.get_running_loop() is loop:
                return False
        except RuntimeError:
            pass
        loop.call_soon_threadsafe(self._put_soon, sends)
        return True

    def _put_soon(self, sends: Sends) -> None:
        try:
            self._put_many(sends)
        except Exception:
            logger.exception("Live events not sent")

    def _put_many(self, sends: Sends) -> None:
        """Each message into each channel of its group; a full channel misses it, as in
        the library (its tab finds the gap and reads the log)."""
        for group, _message in sends:
            self.require_valid_group_name(group)
        self._clean_expired()
        expires = time.time() + self.expiry
        for group, message in sends:
            for channel in self.groups.get(group, {}):
                queue = self._queue(channel)
                if not queue.full():
                    queue.put_nowait((expires, message))

    def _queue(self, channel: str) -> asyncio.Queue[tuple[float, dict[str, Any]]]:
        # Made only when missing: the library builds one for every send and receive
        # (`setdefault(channel, Queue(...))`) and throws it away.
        queue = self.channels.get(channel)
        if queue is None:
            queue = self.channels[channel] = asyncio.Queue(maxsize=self.get_capacity(channel))
        return queue

    def _clean_expired(self) -> None:
        now = time.monotonic()
        if now - self._cleaned_at < self.clean_every:
            return
        self._cleaned_at = now
        super()._clean_expired()


class RedisChannelLayer(BaseRedisChannelLayer):
    def __init__(
        self,
        hosts: list[Any] | None = None,
        *,
        socket_timeout: float = 15.0,
        max_connections: int = 100,
        pool_timeout: float = 20.0,
        receive_batch: int = 500,
        **config: Any,
    ) -> None:
        super().__init__(hosts=hosts, **config)
        if socket_timeout <= 0:
            raise ValueError("socket_timeout must be positive")
        self.socket_timeout = socket_timeout
        self.max_connections = max_connections
        self.pool_timeout = pool_timeout
        # Redis takes fractional seconds for BZPOPMIN; at most the library's own 5 s.
        self.brpop_timeout = min(5.0, socket_timeout / 3)
        self.receive_batch = receive_batch

    def create_pool(self, index: int) -> BlockingConnectionPool:
        host = dict(self.hosts[index])
        address = host.pop("address", None)
        options: dict[str, Any] = {
            "max_connections": self.max_connections,
            "timeout": self.pool_timeout,
            "socket_timeout": self.socket_timeout,
            "socket_connect_timeout": min(5.0, self.socket_timeout),
            # A connection that sat idle behind a NAT or a restarted Redis is checked first.
            "health_check_interval": 30,
            **host,
        }
        if address is None:
            return BlockingConnectionPool(**options)
        return BlockingConnectionPool.from_url(address, **options)

    async def receive_single(self, channel: str) -> tuple[Any, dict[str, Any]]:
        """The library's receive_single, taking up to `receive_batch` messages of a
        process's channel at once: the last is returned, the others go in order to their
        sockets' buffers first (the caller buffers the returned one after them)."""
        if "!" not in channel:
            return await super().receive_single(channel)
        if not self.require_valid_channel_name(channel, receive=True):
            raise ValueError(channel)
        index = self.consistent_hash(channel)
        key = self.prefix + channel
        backup = self._backup_channel_name(key)
        connection = self.connection(index)
        await self.receive_clean_locks.acquire(key)
        try:
            contents: list[bytes] = []
            while not contents:
                # Atomic: what a cancelled receive left in the backup goes back first.
                contents = await connection.eval(_RECEIVE_MANY, 2, key, backup, self.receive_batch)
                _raise_if_cancelled()
                if not contents:
                    # Nothing waiting: block until a message comes, as the library does.
                    popped = await connection.bzpopmin(key, timeout=self.brpop_timeout)
                    if popped is not None:
                        _, member, score = popped
                        await connection.zadd(backup, {member: float(score)})
                        _raise_if_cancelled()
                        contents = [member]
            # The batch is out of Redis's hands once buffered below; the backup goes in a
            # task of its own, as in the library, so a cancel cannot leave it behind.
            cleaner = asyncio.ensure_future(connection.delete(backup))
            self.receive_cleaners.append(cleaner)

            def _cleanup_done(cleaner: asyncio.Future[Any]) -> None:
                self.receive_cleaners.remove(cleaner)
                self.receive_clean_locks.release(key)

            cleaner.add_done_callback(_cleanup_done)
        except BaseException:
            self.receive_clean_locks.release(key)
            raise
        messages = [self._unpack(channel, content) for content in contents]
        for names, message in messages[:-1]:
            for name in names if isinstance(names, list) else [names]:
                self.receive_buffer[name].put_nowait(message)
        return messages[-1]

    def _unpack(self, channel: str, content: bytes) -> tuple[Any, dict[str, Any]]:
        message = self.deserialize(content)
        return message.pop("__asgi_channel__", channel), message

    def group_send_many_soon(self, sends: Sends) -> bool:
        """Never: a sender waits for Redis (parta.realtime.services._deliver says why)."""
        return False

    async def group_send_many(self, sends: list[tuple[str, dict[str, Any]]]) -> None:
        """group_send of each message to its group, for many groups at once: one pipeline
        reads the groups' channels on each Redis, one script queues every message there.
        Capacity, expiry and process-local channels work as in the library's group_send."""
        groups_by_index: dict[int, list[str]] = defaultdict(list)
        for group, _message in sends:
            if not self.require_valid_group_name(group):
                raise ValueError(group)
            groups_by_index[self.consistent_hash(group)].append(group)
        members: dict[str, list[str]] = {}
        joined_after = int(time.time()) - self.group_expiry
        for index, groups in groups_by_index.items():
            pipe = self.connection(index).pipeline(transaction=False)
            for group in groups:
                pipe.zremrangebyscore(self._group_key(group), min=0, max=joined_after)
                pipe.zrange(self._group_key(group), 0, -1)
            answers = await pipe.execute()
            for group, names in zip(groups, answers[1::2], strict=True):
                members[group] = [name.decode("utf8") for name in names]
        queued: dict[int, list[tuple[str, bytes, int]]] = defaultdict(list)
        for group, message in sends:
            by_index, serialized, capacity = self._map_channel_keys_to_connection(
                members[group], message
            )
            for index, keys in by_index.items():
                queued[index].extend((key, serialized[key], capacity[key]) for key in keys)
        for index, items in queued.items():
            keys = [key for key, _, _ in items]
            args = [body for _, body, _ in items] + [limit for _, _, limit in items]
            await self.connection(index).eval(
                _SEND_MANY, len(keys), *keys, *args, time.time(), self.expiry
            )


# KEYS[i] gets ARGV[i] unless it holds ARGV[n + i] messages; a key may come more than once
# (one per process for its local channels, each message with its own channel list). A
# sorted set orders equal scores by their bytes, so each message scores above the key's
# newest: a person's two events of one batch (read, then new) reach their tab in order.
_SEND_MANY = """
local n = #KEYS
local now = tonumber(ARGV[2 * n + 1])
local expiry = tonumber(ARGV[2 * n + 2])
local newest = {}
for i = 1, n do
    local key = KEYS[i]
    redis.call('ZREMRANGEBYSCORE', key, 0, math.floor(now) - expiry)
    if redis.call('ZCOUNT', key, '-inf', '+inf') < tonumber(ARGV[n + i]) then
        if newest[key] == nil then
            local top = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')
            newest[key] = tonumber(top[2] or 0)
        end
        local score = math.max(now, newest[key] + 0.000001)
        newest[key] = score
        redis.call('ZADD', key, score, ARGV[i])
        redis.call('EXPIRE', key, expiry)
    end
end
return 0
"""


def _raise_if_cancelled() -> None:
    """redis-py sends each command through asyncio.wait_for, which on Python 3.11 drops a
    cancel that comes as the send completes (CPython gh-86296, fixed in 3.12): the receive
    of a closed tab then went on popping for ever and the event loop never closed. Checked
    after each command, it ends at the latest when its blocking pop does. What it popped is
    still in the backup, which the next receive puts back first."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


# KEYS[1] a process's channel, KEYS[2] its backup: the backup goes back into the channel
# (a receive was cancelled before it buffered them), then up to ARGV[1] messages move from
# the channel to the backup and are returned, oldest first.
_RECEIVE_MANY = """
local backed_up = redis.call('ZRANGE', KEYS[2], 0, -1, 'WITHSCORES')
for i = #backed_up, 1, -2 do
    redis.call('ZADD', KEYS[1], backed_up[i], backed_up[i - 1])
end
redis.call('DEL', KEYS[2])
local popped = redis.call('ZPOPMIN', KEYS[1], tonumber(ARGV[1]))
local members = {}
for i = 1, #popped, 2 do
    redis.call('ZADD', KEYS[2], popped[i + 1], popped[i])
    members[#members + 1] = popped[i]
end
return members
"""

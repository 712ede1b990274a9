"""Sliding-window rate limits counted in Django's cache (shared by sign-in and invites).

A limit allows at most `limit` events per `window` seconds under one cache key
(e.g. a phone, an IP address, a person). Callers check every limit first and count
the event only when none is exceeded.
"""

import math
from dataclasses import dataclass
from datetime import datetime

from django.core.cache import cache


@dataclass(frozen=True)
class Limit:
    key: str
    limit: int
    window: int  # seconds


def _recent(limit: Limit, now: datetime) -> list[float]:
    since = now.timestamp() - limit.window
    return [stamp for stamp in cache.get(limit.key, []) if stamp > since]


def retry_after(limits: list[Limit], now: datetime) -> int | None:
    """Seconds to wait if any limit is used up; None when the event may happen now."""
    for limit in limits:
        recent = _recent(limit, now)
        if len(recent) >= limit.limit:
            return max(math.ceil(min(recent) + limit.window - now.timestamp()), 1)
    return None


def count(limits: list[Limit], now: datetime) -> None:
    for limit in limits:
        cache.set(limit.key, [*_recent(limit, now), now.timestamp()], timeout=limit.window)

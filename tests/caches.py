"""Emptying the cache between tests without touching anyone else's keys.

On Redis the tests' cache has a prefix of its own (tests/settings.py) and only keys under it
are deleted: Django's cache.clear() is FLUSHDB there, which would empty the whole Redis
database named by REDIS_URL, whatever else lives in it."""

from typing import Any, cast

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache


def redis_client(cache: RedisCache) -> Any:
    """The redis-py client under Django's Redis cache (a private attribute, untyped)."""
    return cast(Any, cache)._cache.get_client(write=True)


def clear_cache() -> None:
    cache = caches["default"]
    if not isinstance(cache, RedisCache):
        cache.clear()
        return
    client = redis_client(cache)
    prefix = settings.CACHES["default"]["KEY_PREFIX"]
    keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
    if keys:
        client.delete(*keys)

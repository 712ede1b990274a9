"""Emptying the cache between tests without touching anyone else's keys.

On Redis the tests' cache has a prefix of its own (tests/settings.py) and only keys under it
are deleted: Django's cache.clear() is FLUSHDB there, which would empty the whole Redis
database named by REDIS_URL, whatever else lives in it."""

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache


def clear_cache() -> None:
    if not isinstance(caches["default"], RedisCache):
        caches["default"].clear()
        return
    client = caches["default"]._cache.get_client(write=True)
    prefix = settings.CACHES["default"]["KEY_PREFIX"]
    keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
    if keys:
        client.delete(*keys)

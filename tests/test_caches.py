"""The tests empty their own cache keys only, never the whole Redis database they share."""

import uuid

import pytest
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache

from tests.caches import clear_cache, redis_client


def test_clearing_keeps_keys_that_are_not_the_tests():
    cache = caches["default"]
    if not isinstance(cache, RedisCache):
        pytest.skip("only the Redis cache is shared with others: set REDIS_URL")
    client = redis_client(cache)
    foreign = f"someone-else:{uuid.uuid4().hex}"
    client.set(foreign, "keep me", ex=60)
    caches["default"].set("ours", "go")
    try:
        clear_cache()
        assert caches["default"].get("ours") is None
        assert client.get(foreign) == b"keep me"
    finally:
        client.delete(foreign)

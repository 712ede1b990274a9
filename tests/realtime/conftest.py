import asyncio

import pytest
from asgiref.sync import sync_to_async
from channels.layers import channel_layers
from django.db import connections


@pytest.fixture(autouse=True)
def fresh_channel_layer():
    """Each test gets its own channel layer: no group outlives the test that made it."""
    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()


@pytest.fixture(autouse=True)
def close_sync_thread_connections():
    """database_sync_to_async runs in asgiref's shared thread, whose connection would
    otherwise stay open and keep PostgreSQL from dropping the test database."""
    yield
    asyncio.run(sync_to_async(connections.close_all)())

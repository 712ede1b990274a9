import pytest
from channels.layers import channel_layers


@pytest.fixture(autouse=True)
def fresh_channel_layer():
    """Each test gets its own channel layer: no group outlives the test that made it."""
    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()

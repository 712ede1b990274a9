"""The messaging tests' school (a class, its students and parents, staff) for API-wide tests."""

from tests.messaging.conftest import fresh_channel_layer, s  # noqa: F401

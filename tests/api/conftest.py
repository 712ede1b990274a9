"""The messaging tests' school (a class, its students and parents, staff) for API-wide tests,
and its class chat."""

import pytest

from parta.messaging.models import Conversation
from parta.messaging.services import create_conversation
from tests.messaging.conftest import fresh_channel_layer, s  # noqa: F401


@pytest.fixture
def chat(s):  # noqa: F811 - the fixture s, imported above
    return create_conversation(
        s.teacher, s.org, title="5А", purpose=Conversation.Purpose.CLASS, school_class=s.five_a
    )

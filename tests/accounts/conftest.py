import re

import pytest

from parta.accounts import sms
from tests.caches import clear_cache


@pytest.fixture(autouse=True)
def sms_outbox(settings):
    """Codes go to the in-memory outbox; rate-limit counters start empty."""
    settings.PARTA_SMS_BACKEND = "parta.accounts.sms.LocmemSmsBackend"
    sms.outbox.clear()
    clear_cache()
    yield sms.outbox
    sms.outbox.clear()
    clear_cache()


def last_code(outbox, phone):
    """The code in the last SMS sent to `phone`."""
    texts = [message.text for message in outbox if message.phone == phone]
    assert texts, f"no SMS to {phone}"
    code = re.search(r"\b(\d{6})\b", texts[-1])
    assert code, texts[-1]
    return code.group(1)

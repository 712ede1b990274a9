"""SMS backends for sign-in codes, chosen by settings.PARTA_SMS_BACKEND (a dotted class path).

A backend is a class with a no-argument constructor and `send(phone_e164, text)`; it raises
SmsError when the message could not be handed over. Backends never log the text: it holds
a sign-in code. The console backend is the one exception, and it writes to stdout only.
"""

import json
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Protocol, TextIO

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string


class SmsError(Exception):
    """The SMS could not be handed to the gateway."""


class SmsBackend(Protocol):
    def send(self, phone_e164: str, text: str) -> None:
        """Deliver `text` to the phone number `phone_e164` (+79131234567) or raise SmsError."""


class ConsoleSmsBackend:
    """For development and the demo: prints the message to the server console."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stdout

    def send(self, phone_e164: str, text: str) -> None:
        self.stream.write(f"[SMS to {phone_e164}] {text}\n")
        self.stream.flush()


class HttpGatewaySmsBackend:
    """POSTs {"phone": ..., "text": ...} as JSON to PARTA_SMS_GATEWAY_URL.

    Authenticates with `Authorization: Bearer PARTA_SMS_GATEWAY_TOKEN`; any 2xx answer
    counts as accepted.
    """

    timeout_seconds = 10

    def __init__(self) -> None:
        self.url = settings.PARTA_SMS_GATEWAY_URL
        self.token = settings.PARTA_SMS_GATEWAY_TOKEN
        if not self.url.startswith(("https://", "http://")):
            raise ImproperlyConfigured(
                "PARTA_SMS_GATEWAY_URL must be an http(s) URL for HttpGatewaySmsBackend."
            )

    def send(self, phone_e164: str, text: str) -> None:
        request = urllib.request.Request(  # noqa: S310 - the scheme is checked in __init__
            self.url,
            data=json.dumps({"phone": phone_e164, "text": text}).encode(),
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {self.token}"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_seconds) as response:  # noqa: S310
                status = response.status
        except urllib.error.HTTPError as exc:
            raise SmsError(f"SMS gateway answered HTTP {exc.code}") from exc
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            raise SmsError(f"SMS gateway unreachable: {exc}") from exc
        if not 200 <= status < 300:
            raise SmsError(f"SMS gateway answered HTTP {status}")


@dataclass(frozen=True)
class SentSms:
    phone: str
    text: str


# The messages LocmemSmsBackend has "sent", like django.core.mail.outbox; tests clear it.
outbox: list[SentSms] = []


class LocmemSmsBackend:
    """For tests: keeps messages in the module-level `outbox` list."""

    def send(self, phone_e164: str, text: str) -> None:
        outbox.append(SentSms(phone_e164, text))


def get_sms_backend() -> SmsBackend:
    backend_class = import_string(settings.PARTA_SMS_BACKEND)
    backend: SmsBackend = backend_class()
    return backend

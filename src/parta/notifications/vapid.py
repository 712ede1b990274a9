"""The server's VAPID key pair, which push services check our requests against: from the
environment (PARTA_VAPID_PRIVATE_KEY) or else made on first start in PARTA_DATA_DIR and
reused, so browsers' subscriptions stay valid across restarts."""

import base64
import functools
import os

from cryptography.hazmat.primitives import serialization
from django.conf import settings
from py_vapid import Vapid02

KEY_FILE = "vapid_private.pem"


@functools.cache
def server_key() -> Vapid02:
    if settings.PARTA_VAPID_PRIVATE_KEY:
        return Vapid02.from_string(settings.PARTA_VAPID_PRIVATE_KEY)
    path = settings.DATA_DIR / KEY_FILE
    if not path.exists():
        key = Vapid02()
        key.generate_keys()
        settings.DATA_DIR.mkdir(parents=True, exist_ok=True)
        # O_EXCL: of two processes starting at once, one writes and both read its key.
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(descriptor, "wb") as file:
                file.write(key.private_pem())
    return Vapid02.from_file(str(path))


def public_key() -> str:
    """The applicationServerKey a page subscribes with: the raw point, base64url."""
    raw = server_key().public_key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")

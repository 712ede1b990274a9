"""Call invite links: 256 random bits from `secrets`; the database keeps only an HMAC.

The token travels in the URL fragment (/calls/link/#<token>), which browsers never send
to the server, so no access log or Referer holds it; the link page posts it in the body.
"""

import secrets

from django.urls import reverse
from django.utils.crypto import salted_hmac

TOKEN_BYTES = 32


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_hash(token: str) -> str:
    return salted_hmac("parta.calls.link", token.strip(), algorithm="sha256").hexdigest()


def link_path(token: str) -> str:
    return f"{reverse('calls:link')}#{token}"

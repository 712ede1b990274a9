"""Invite tokens: 256 random bits from `secrets`; the database keeps only an HMAC.

The HMAC is keyed with SECRET_KEY, so neither a database dump alone nor a guess
gives a usable link. The token travels in the URL fragment (/join/#<token>), which
browsers never send to the server, so no access log, 404 log or Referer holds it; the
join page posts it in the request body.
"""

import secrets

from django.urls import reverse
from django.utils.crypto import salted_hmac

TOKEN_BYTES = 32


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_hash(token: str) -> str:
    return salted_hmac("parta.invites.token", token.strip(), algorithm="sha256").hexdigest()


def join_path(token: str) -> str:
    return f"{reverse('invites:join')}#{token}"

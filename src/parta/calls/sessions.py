"""What a browser's session remembers about calls: links it opened and its guest name.

The link's HMAC is kept (never the token), so a link replaced by a new one stops admitting
at once. A guest (not signed in) gets a random key that identifies their browser in the
call's history and keeps a removed guest out.
"""

import secrets
from typing import Any

from parta.calls.models import Call

LINKS = "parta.calls.links"
GUEST = "parta.calls.guest"


def admit_by_link(session: Any, call: Call) -> None:
    links = dict(session.get(LINKS, {}))
    links[str(call.pk)] = call.link_hash
    session[LINKS] = links


def link_hash_for(session: Any, call_id: int) -> str | None:
    value = session.get(LINKS, {}).get(str(call_id))
    return value if isinstance(value, str) else None


def set_guest_name(session: Any, name: str) -> None:
    guest = dict(session.get(GUEST) or {})
    guest.setdefault("key", secrets.token_hex(16))
    guest["name"] = " ".join(name.split())
    session[GUEST] = guest


def guest_identity(session: Any) -> tuple[str, str] | None:
    """(key, name) of this browser's guest, once they have given a name."""
    guest = session.get(GUEST) or {}
    if guest.get("key") and guest.get("name"):
        return guest["key"], guest["name"]
    return None

"""What the shell's navigation needs to know about the signed-in person."""

from django.http import HttpRequest
from django.utils import timezone

from parta.accounts.models import Person
from parta.accounts.selectors import current_memberships
from parta.invites.selectors import organizations_managed_by, requests_of
from parta.messaging.selectors import UnreadTotal, group_chat_organizations, unread_total
from parta.monitoring.scopes import report_access_rights

NOBODY: dict[str, bool | UnreadTotal | None] = {
    "sees_indicators": False,
    "manages": False,
    "has_own_requests": False,
    "creates_chats": False,
    "unread": None,
}


def navigation(request: HttpRequest) -> dict[str, bool | UnreadTotal | None]:
    """Which menu items and forms the person may use, by the same rules the pages refuse by;
    the memberships are read once and shared by all of them. `unread`: the total beside
    «Сообщения» and in the tab's title (one query)."""
    person = getattr(request, "user", None)
    if not isinstance(person, Person) or not person.is_authenticated:
        return NOBODY
    now = timezone.now()
    memberships = current_memberships(person, now)
    return {
        "sees_indicators": report_access_rights(person, now, memberships).anything,
        "manages": bool(organizations_managed_by(person, now, memberships)),
        "has_own_requests": requests_of(person).exists(),
        "creates_chats": bool(group_chat_organizations(memberships)),
        "unread": unread_total(person),
    }

"""What the shell's navigation needs to know about the signed-in person."""

from django.http import HttpRequest
from django.utils import timezone

from parta.accounts.models import Person
from parta.monitoring.scopes import report_access_rights


def navigation(request: HttpRequest) -> dict[str, bool]:
    person = getattr(request, "user", None)
    if not isinstance(person, Person) or not person.is_authenticated:
        return {"sees_indicators": False}
    return {"sees_indicators": report_access_rights(person, timezone.now()).anything}

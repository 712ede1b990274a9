"""The signed-in person: for the pages behind login_required, and for those open to all."""

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

from parta.accounts.models import Person


def signed_in(request: HttpRequest) -> Person:
    """The person login_required let in. A view that forgot the decorator refuses (403)
    rather than serving an anonymous visitor as someone."""
    person = request.user
    if not isinstance(person, Person):
        raise PermissionDenied
    return person


def person_or_none(request: HttpRequest) -> Person | None:
    """The person signed in on a page open to anyone; None for an anonymous visitor."""
    return request.user if isinstance(request.user, Person) else None

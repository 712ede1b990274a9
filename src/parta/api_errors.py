"""What every API router shares: the signed-in person and a service's refusal as an answer."""

from collections.abc import Callable
from typing import TypeVar

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest
from ninja import Schema, Status

from parta.accounts.models import Person

T = TypeVar("T")


class ErrorOut(Schema):
    detail: str
    code: str | None = None


REFUSALS = {400: ErrorOut, 403: ErrorOut, 404: ErrorOut}


def signed_in_person(request: HttpRequest) -> Person:
    """The person SessionAuth let in."""
    person = getattr(request, "auth", None) or request.user
    if not isinstance(person, Person):
        raise PermissionDenied
    return person


def refusing(action: Callable[[], T]) -> T | Status[ErrorOut]:
    """Run a service call; its refusal becomes a 400/403 answer with the service's words."""
    try:
        return action()
    except ValidationError as refused:
        code = getattr(refused, "code", None)
        return Status(400, ErrorOut(detail=" ".join(refused.messages), code=code))
    except PermissionDenied as refused:
        return Status(403, ErrorOut(detail=str(refused) or "forbidden", code="forbidden"))

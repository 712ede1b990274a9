"""What every API router shares: the signed-in person, the shape of a refusal (ErrorOut;
parta.api answers every refusal with it), and the shape of input every schema may accept
(ids in range, bounded lists, clean text)."""

import json
from typing import Annotated, Any, cast

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.utils.datastructures import MultiValueDict
from django.utils.translation import gettext as _
from ninja import Field, Schema
from ninja.errors import HttpError
from ninja.parser import Parser
from pydantic import GetCoreSchemaHandler
from pydantic_core import PydanticCustomError, core_schema

from parta.accounts.models import Person

# A database id: a positive 64-bit integer. A bigger one would overflow the database's
# integer and end in a 500; as a type, it is refused with the rest of the body (422).
MAX_ID = 2**63 - 1
Id = Annotated[int, Field(ge=1, le=MAX_ID)]


class AtMost:
    """A list's length limit, checked before its items are: pydantic's own max_length
    validates every item of a list far too long first. Documented as maxItems."""

    def __init__(self, items: int) -> None:
        self.items = items

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        limited = cast(core_schema.CoreSchema, {**handler(source), "max_length": self.items})
        return core_schema.no_info_before_validator_function(self._check, limited)

    def _check(self, value: Any) -> Any:
        if isinstance(value, list | tuple) and len(value) > self.items:
            raise PydanticCustomError(
                "too_long",
                "List should have at most {max_length} items, not {actual_length}",
                {"max_length": self.items, "actual_length": len(value)},
            )
        return value


# People picked for a chat: a school's worth.
MAX_IDS = 1000
Ids = Annotated[list[Id], AtMost(MAX_IDS)]


class ErrorOut(Schema):
    detail: str
    code: str | None = None


class BadBody(HttpError):
    """A body no schema should see: not JSON, or text that is not Unicode."""

    def __init__(self, message: str) -> None:
        super().__init__(400, message)


def _check_text(value: Any) -> None:
    """Refuse lone surrogates ("\\ud800": valid JSON, not text; neither UTF-8 nor the
    database can store it) and NUL (PostgreSQL text cannot hold it), in keys and values."""
    if isinstance(value, str):
        if "\x00" in value:
            raise BadBody(_("В тексте недопустимый символ NUL."))
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise BadBody(_("В тексте недопустимый символ (одиночный суррогат UTF-16).")) from None
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_text(key)
            _check_text(item)
    elif isinstance(value, list):
        for item in value:
            _check_text(item)


class TextParser(Parser):
    """Bodies, forms and queries as ninja reads them, refused at once if a string could not
    be stored."""

    def parse_body(self, request: HttpRequest) -> Any:
        try:
            data = json.loads(request.body)
        except ValueError:
            raise BadBody(_("Тело запроса — не JSON.")) from None
        _check_text(data)
        return data

    def parse_querydict(
        self, data: MultiValueDict, list_fields: list[str], request: HttpRequest
    ) -> dict[str, Any]:
        parsed = super().parse_querydict(data, list_fields, request)
        _check_text(parsed)
        return parsed


def signed_in_person(request: HttpRequest) -> Person:
    """The person SessionAuth let in."""
    person = getattr(request, "auth", None) or request.user
    if not isinstance(person, Person):
        raise PermissionDenied
    return person

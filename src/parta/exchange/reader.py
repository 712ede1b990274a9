"""Reading the activity exchange format (docs/exchange-format.md) line by line.

Each line becomes a typed record after checks that need no database: JSON shape,
field presence and JSON types, enum values, aware timestamps, intervals, phones
and time zones. References between records are resolved by the importer.

Records are plain slotted dataclasses, not frozen ones: a frozen one costs a microsecond
more per line, and no one changes a record after reading it.
"""

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeGuard, TypeVar, cast

from django.core.exceptions import ValidationError
from django.db.models import CharField, Model
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from parta.accounts.models import Person, Role
from parta.accounts.phones import normalize_phone
from parta.messaging.models import Conversation
from parta.structure.models import (
    District,
    Organization,
    Region,
    SchoolClass,
    validate_time_zone,
)
from parta.structure.validators import validate_inn

# Report progress to the caller every this many lines (a callback per line costs time).
PROGRESS_EVERY = 2000


class ExchangeError(ValueError):
    """A line that cannot be imported: where it is, which field, what is wrong."""

    def __init__(self, line: int, field: str | None, problem: str) -> None:
        self.line = line
        self.field = field
        self.problem = problem
        where = _("строка %(line)d") % {"line": line}
        if field is not None:
            where += ", " + _("поле «%(field)s»") % {"field": field}
        super().__init__(f"{where}: {problem}")


@dataclass(slots=True)
class RegionRecord:
    line: int = field(compare=False)
    id: str
    name: str
    tz: str


@dataclass(slots=True)
class DistrictRecord:
    line: int = field(compare=False)
    id: str
    region: str
    name: str


@dataclass(slots=True)
class OrgRecord:
    line: int = field(compare=False)
    id: str
    district: str
    name: str
    kind: str
    short_name: str
    inn: str


@dataclass(slots=True)
class UserRecord:
    line: int = field(compare=False)
    id: str
    surname: str
    name: str
    patronymic: str
    phone: str | None


@dataclass(slots=True)
class RoleRecord:
    line: int = field(compare=False)
    user: str
    org: str
    role: str
    valid_from: datetime
    valid_to: datetime | None


@dataclass(slots=True)
class ClassRecord:
    line: int = field(compare=False)
    id: str
    org: str
    name: str
    class_teacher: str | None
    staff: bool


@dataclass(slots=True)
class ChatRecord:
    line: int = field(compare=False)
    id: str
    org: str
    kind: str
    title: str
    created_by: str
    created_at: datetime
    deleted_at: datetime | None
    school_class: str | None
    purpose: str
    members: tuple[str, ...]


@dataclass(slots=True)
class MessageRecord:
    line: int = field(compare=False)
    id: str
    chat: str
    author: str
    sent_at: datetime
    text: str
    deleted_at: datetime | None


@dataclass(slots=True)
class CallRecord:
    line: int = field(compare=False)
    id: str
    org: str
    chat: str | None
    created_by: str
    created_at: datetime
    ended_at: datetime | None


@dataclass(slots=True)
class CallParticipantRecord:
    line: int = field(compare=False)
    call: str
    user: str
    joined_at: datetime
    left_at: datetime | None


Record = (
    RegionRecord
    | DistrictRecord
    | OrgRecord
    | UserRecord
    | RoleRecord
    | ClassRecord
    | ChatRecord
    | MessageRecord
    | CallRecord
    | CallParticipantRecord
)

_T = TypeVar("_T")
_MISSING = object()


def _max_length(model: type[Model], name: str) -> int:
    field = model._meta.get_field(name)
    if not isinstance(field, CharField) or field.max_length is None:
        raise TypeError(f"{model.__name__}.{name} is not a bounded text field")
    return field.max_length


_ID_LENGTH = _max_length(Region, "external_id")
_REGION_NAME_LENGTH = _max_length(Region, "name")
_TZ_LENGTH = _max_length(Region, "time_zone")
_DISTRICT_NAME_LENGTH = _max_length(District, "name")
_ORG_NAME_LENGTH = _max_length(Organization, "full_name")
_ORG_SHORT_NAME_LENGTH = _max_length(Organization, "short_name")
_CLASS_NAME_LENGTH = _max_length(SchoolClass, "name")
_TITLE_LENGTH = _max_length(Conversation, "title")
_ORG_KINDS = Organization.Kind.values
_ROLES = Role.values
_CHAT_KINDS = Conversation.Kind.values
# The spec's class, parents, staff, other, and Parta's own purposes, so that an export
# of Parta comes back whole.
_PURPOSES = Conversation.Purpose.values
# Named only in errors; translated when one is raised.
_A_STRING = gettext_lazy("строка")
_A_BOOL = gettext_lazy("true или false")
_A_LIST = gettext_lazy("список")
_A_TIME = gettext_lazy("время ISO 8601 (строка)")


class _Line:
    """One parsed JSON object and its line number, with typed getters that name the field."""

    def __init__(self, obj: dict[str, Any], line: int, allowed: tuple[str, ...]) -> None:
        self.obj = obj
        self.line = line
        for name in obj:
            if name != "type" and name not in allowed:
                raise ExchangeError(
                    line,
                    name,
                    _("такого поля у записи «%(type)s» нет; допустимы: %(fields)s")
                    % {"type": obj["type"], "fields": ", ".join(allowed)},
                )

    def error(self, name: str, problem: str) -> ExchangeError:
        return ExchangeError(self.line, name, problem)

    def get(self, name: str, kind: type[_T], kind_label: Any, required: bool) -> _T | None:
        value = self.obj.get(name, _MISSING)
        if value is _MISSING or value is None:
            if required:
                raise self.error(name, _("обязательное поле отсутствует"))
            return None
        # bool is an int in Python, and JSON true must not pass for a number or vice versa.
        if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
            raise self.error(
                name,
                _("ожидается %(expected)s, получено %(got)s")
                % {"expected": kind_label, "got": json.dumps(value, ensure_ascii=False)[:80]},
            )
        return value

    def text(self, name: str, max_length: int | None = None) -> str:
        value = self.optional_text(name, max_length)
        if value is None:
            raise self.error(name, _("обязательное поле отсутствует"))
        return value

    def optional_text(self, name: str, max_length: int | None = None) -> str | None:
        value = self.get(name, str, _A_STRING, required=False)
        if value is None:
            return None
        if not value.strip():
            raise self.error(name, _("пустая строка"))
        if max_length is not None and len(value) > max_length:
            raise self.error(name, _("длиннее %(max)d знаков") % {"max": max_length})
        return value

    def ref(self, name: str) -> str:
        return self.text(name, _ID_LENGTH)

    def optional_ref(self, name: str) -> str | None:
        return self.optional_text(name, _ID_LENGTH)

    def choice(self, name: str, choices: list[str], default: str | None = None) -> str:
        value = self.get(name, str, _A_STRING, required=default is None)
        if value is None:
            return cast(str, default)
        if value not in choices:
            raise self.error(
                name,
                _("недопустимое значение «%(value)s»; допустимы: %(choices)s")
                % {"value": value, "choices": ", ".join(choices)},
            )
        return value

    def flag(self, name: str) -> bool:
        return bool(self.get(name, bool, _A_BOOL, required=False))

    def refs(self, name: str) -> tuple[str, ...]:
        values = self.get(name, list, _A_LIST, required=False) or []
        for value in values:
            if not isinstance(value, str) or not value.strip() or len(value) > _ID_LENGTH:
                raise self.error(name, _("ожидается список id (непустых строк)"))
        if len(set(values)) != len(values):
            raise self.error(name, _("id в списке повторяются"))
        return tuple(values)

    def moment(self, name: str) -> datetime:
        value = self.optional_moment(name)
        if value is None:
            raise self.error(name, _("обязательное поле отсутствует"))
        return value

    def optional_moment(self, name: str) -> datetime | None:
        value = self.get(name, str, _A_TIME, required=False)
        if value is None:
            return None
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise self.error(
                name, _("«%(value)s» — не время ISO 8601") % {"value": value[:40]}
            ) from None
        if moment.tzinfo is None:
            raise self.error(
                name,
                _("время «%(value)s» без часового пояса; укажите смещение или Z")
                % {"value": value[:40]},
            )
        return moment

    def not_before(
        self,
        name: str,
        later: datetime | None,
        earlier: datetime,
        earlier_name: str,
        *,
        strictly: bool = False,
    ) -> None:
        if later is None:
            return
        if later < earlier or (strictly and later == earlier):
            problem = (
                _("должно быть позже «%(other)s»")
                if strictly
                else _("не может быть раньше «%(other)s»")
            )
            raise self.error(name, problem % {"other": earlier_name})


def _region(rec: _Line) -> RegionRecord:
    tz = rec.text("tz", _TZ_LENGTH)
    try:
        validate_time_zone(tz)
    except ValidationError:
        raise rec.error("tz", _("неизвестный часовой пояс IANA «%(tz)s»") % {"tz": tz}) from None
    return RegionRecord(rec.line, rec.ref("id"), rec.text("name", _REGION_NAME_LENGTH), tz)


def _district(rec: _Line) -> DistrictRecord:
    return DistrictRecord(
        rec.line, rec.ref("id"), rec.ref("region"), rec.text("name", _DISTRICT_NAME_LENGTH)
    )


def _org(rec: _Line) -> OrgRecord:
    inn = rec.optional_text("inn") or ""
    if inn:
        try:
            validate_inn(inn)
        except ValidationError as exc:
            raise rec.error("inn", " ".join(exc.messages)) from None
    return OrgRecord(
        rec.line,
        rec.ref("id"),
        rec.ref("district"),
        rec.text("name", _ORG_NAME_LENGTH),
        rec.choice("kind", _ORG_KINDS),
        rec.optional_text("short_name", _ORG_SHORT_NAME_LENGTH) or "",
        inn,
    )


_NAME_PART_LENGTH = min(
    _max_length(Person, "surname"), _max_length(Person, "name"), _max_length(Person, "patronymic")
)


def _user(rec: _Line) -> UserRecord:
    full_name = rec.text("name")
    parts = Person.split_full_name(full_name)
    if any(len(part) > _NAME_PART_LENGTH for part in parts):
        raise rec.error("name", _("часть ФИО длиннее %(max)d знаков") % {"max": _NAME_PART_LENGTH})
    raw_phone = rec.optional_text("phone")
    phone = None
    if raw_phone is not None:
        try:
            phone = normalize_phone(raw_phone)
        except ValidationError as exc:
            raise rec.error("phone", f"«{raw_phone[:40]}»: {' '.join(exc.messages)}") from None
    return UserRecord(rec.line, rec.ref("id"), *parts, phone)


def _role(rec: _Line) -> RoleRecord:
    valid_from = rec.moment("from")
    valid_to = rec.optional_moment("to")
    rec.not_before("to", valid_to, valid_from, "from", strictly=True)
    return RoleRecord(
        rec.line,
        rec.ref("user"),
        rec.ref("org"),
        rec.choice("role", _ROLES),
        valid_from,
        valid_to,
    )


def _class(rec: _Line) -> ClassRecord:
    return ClassRecord(
        rec.line,
        rec.ref("id"),
        rec.ref("org"),
        rec.text("name", _CLASS_NAME_LENGTH),
        rec.optional_ref("class_teacher"),
        rec.flag("staff"),
    )


def _chat(rec: _Line) -> ChatRecord:
    created_at = rec.moment("created_at")
    deleted_at = rec.optional_moment("deleted_at")
    rec.not_before("deleted_at", deleted_at, created_at, "created_at")
    return ChatRecord(
        rec.line,
        rec.ref("id"),
        rec.ref("org"),
        rec.choice("kind", _CHAT_KINDS),
        rec.text("title", _TITLE_LENGTH),
        rec.ref("created_by"),
        created_at,
        deleted_at,
        rec.optional_ref("class"),
        rec.choice("purpose", _PURPOSES, default=Conversation.Purpose.OTHER),
        rec.refs("members"),
    )


def _message(rec: _Line) -> MessageRecord:
    sent_at = rec.moment("sent_at")
    deleted_at = rec.optional_moment("deleted_at")
    rec.not_before("deleted_at", deleted_at, sent_at, "sent_at")
    text = rec.get("text", str, _A_STRING, required=False) or ""
    return MessageRecord(
        rec.line, rec.ref("id"), rec.ref("chat"), rec.ref("author"), sent_at, text, deleted_at
    )


def _call(rec: _Line) -> CallRecord:
    created_at = rec.moment("created_at")
    ended_at = rec.optional_moment("ended_at")
    rec.not_before("ended_at", ended_at, created_at, "created_at")
    return CallRecord(
        rec.line,
        rec.ref("id"),
        rec.ref("org"),
        rec.optional_ref("chat"),
        rec.ref("created_by"),
        created_at,
        ended_at,
    )


def _call_participant(rec: _Line) -> CallParticipantRecord:
    joined_at = rec.moment("joined_at")
    left_at = rec.optional_moment("left_at")
    rec.not_before("left_at", left_at, joined_at, "joined_at")
    return CallParticipantRecord(rec.line, rec.ref("call"), rec.ref("user"), joined_at, left_at)


# type → (fields it may carry, parser); the order is the export's dependency order.
RECORD_TYPES: dict[str, tuple[tuple[str, ...], Callable[[_Line], Record]]] = {
    "region": (("id", "name", "tz"), _region),
    "district": (("id", "region", "name"), _district),
    "org": (("id", "district", "name", "kind", "short_name", "inn"), _org),
    "user": (("id", "name", "phone"), _user),
    "role": (("user", "org", "role", "from", "to"), _role),
    "class": (("id", "org", "name", "class_teacher", "staff"), _class),
    "chat": (
        (
            "id",
            "org",
            "kind",
            "title",
            "created_by",
            "created_at",
            "deleted_at",
            "class",
            "purpose",
            "members",
        ),
        _chat,
    ),
    "message": (("id", "chat", "author", "sent_at", "text", "deleted_at"), _message),
    "call": (("id", "org", "chat", "created_by", "created_at", "ended_at"), _call),
    "call_participant": (("call", "user", "joined_at", "left_at"), _call_participant),
}


def parse_record(obj: object, line: int) -> Record:
    if not isinstance(obj, dict):
        raise ExchangeError(line, None, _("строка должна быть объектом JSON {…}"))
    kind = obj.get("type", _MISSING)
    if kind is _MISSING or kind is None:
        raise ExchangeError(line, "type", _("обязательное поле отсутствует"))
    if not isinstance(kind, str) or kind not in RECORD_TYPES:
        raise ExchangeError(
            line,
            "type",
            _("неизвестный тип записи %(type)s; допустимы: %(types)s")
            % {"type": json.dumps(kind, ensure_ascii=False)[:40], "types": ", ".join(RECORD_TYPES)},
        )
    allowed, parse = RECORD_TYPES[kind]
    return parse(_Line(obj, line, allowed))


_MESSAGE_FIELDS = frozenset(("type", *RECORD_TYPES["message"][0]))


def _ref_ok(value: object) -> TypeGuard[str]:
    return type(value) is str and 0 < len(value) <= _ID_LENGTH and not value.isspace()


def _quick_message(obj: dict[str, Any], line: int) -> MessageRecord | None:
    """A message line read with the few checks a good one needs, or None if any fails.

    Messages are most of every file. On None the line goes through parse_record,
    which names the faulty field exactly as for any other line.
    """
    if not _MESSAGE_FIELDS.issuperset(obj):
        return None
    id_, chat, author, sent, text, deleted = (
        obj.get("id"),
        obj.get("chat"),
        obj.get("author"),
        obj.get("sent_at"),
        obj.get("text"),
        obj.get("deleted_at"),
    )
    if not (_ref_ok(id_) and _ref_ok(chat) and _ref_ok(author) and type(sent) is str):
        return None
    if text is None:
        text = ""
    elif type(text) is not str:
        return None
    try:
        sent_at = datetime.fromisoformat(sent)
        deleted_at = None if deleted is None else datetime.fromisoformat(deleted)
    except (TypeError, ValueError):
        return None
    if sent_at.tzinfo is None or (
        deleted_at is not None and (deleted_at.tzinfo is None or deleted_at < sent_at)
    ):
        return None
    return MessageRecord(line, id_, chat, author, sent_at, text, deleted_at)


def read_records(
    lines: Iterable[bytes], progress: Callable[[int], object] | None = None
) -> Iterator[Record]:
    """Records of a JSON Lines byte stream, in file order; blank lines are skipped.

    `progress` is called now and then with the number of bytes read since its last call.
    """
    unreported = 0
    for number, raw in enumerate(lines, start=1):
        unreported += len(raw)
        if progress is not None and number % PROGRESS_EVERY == 0:
            progress(unreported)
            unreported = 0
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw.decode())
        except UnicodeDecodeError:
            raise ExchangeError(number, None, _("строка не в кодировке UTF-8")) from None
        except json.JSONDecodeError as exc:
            raise ExchangeError(
                number, None, _("не JSON: %(error)s") % {"error": exc.msg}
            ) from None
        if type(obj) is dict and obj.get("type") == "message":
            record = _quick_message(obj, number)
            if record is not None:
                yield record
                continue
        yield parse_record(obj, number)
    if progress is not None and unreported:
        progress(unreported)

"""Importing activity history from the exchange format: all or nothing, one transaction.

The file is streamed. Records wait in small per-type batches and are written with
bulk_create; only external id → primary key maps stay in memory. A record may
refer to records earlier in the file or already stored. A record whose key is
already known (earlier in the file or stored) must equal it and then changes
nothing, so importing the same file twice stores nothing new.
"""

from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib.auth.hashers import make_password
from django.db import connections, router, transaction
from django.db.models import Model
from django.utils.translation import gettext as _

from parta.accounts.models import Person, RoleGrant
from parta.accounts.services import RoleGrantConflict, import_role_grants, record_audit
from parta.bulk import (
    RowsBehind,
    indexes_built_after_load,
    insert_models,
    insert_rows,
    keys_checked_after_load,
    keys_checked_as_rows_go_in,
    time_adapter,
)
from parta.calls.models import Call, CallParticipation
from parta.calls.services import StaysFromHistory
from parta.exchange.reader import (
    RECORD_TYPES,
    CallParticipantRecord,
    CallRecord,
    ChatRecord,
    ClassRecord,
    DistrictRecord,
    ExchangeError,
    MessageRecord,
    OrgRecord,
    Record,
    RegionRecord,
    RoleRecord,
    UserRecord,
    read_records,
)
from parta.messaging.models import Conversation, ConversationMember, Message
from parta.monitoring.models import WeeklyMessageTally
from parta.monitoring.tallies import TallyKey, add_counts, count_messages, organization_zones
from parta.structure.models import District, Organization, Region, SchoolClass, parse_class_name

# Records of one type written per round trip; also bounds every `IN (...)` list.
BATCH_SIZE = 1000

_ROLE_CONFLICT_FIELDS = {"unknown_role": "role", "empty_interval": "to", "conflicting_end": "to"}


@dataclass
class ImportSummary:
    lines: int = 0
    created: Counter[str] = field(default_factory=Counter)
    unchanged: Counter[str] = field(default_factory=Counter)


@dataclass(frozen=True)
class _Table:
    """How one record type is stored: its model and the fields compared when a key repeats."""

    model: type[Model]
    fields: dict[str, str]  # model attribute → field of the format (named in errors)
    organization_attr: str | None = None  # kept per pk for records that others check against


_TABLES: dict[str, _Table] = {
    "region": _Table(Region, {"name": "name", "time_zone": "tz"}),
    "district": _Table(District, {"region_id": "region", "name": "name"}),
    "org": _Table(
        Organization,
        {
            "district_id": "district",
            "full_name": "name",
            "kind": "kind",
            "short_name": "short_name",
            "inn": "inn",
        },
    ),
    "user": _Table(
        Person, {"surname": "name", "name": "name", "patronymic": "name", "phone": "phone"}
    ),
    "class": _Table(
        SchoolClass,
        {
            "organization_id": "org",
            "name": "name",
            "class_teacher_id": "class_teacher",
            "is_staff_class": "staff",
        },
        organization_attr="organization_id",
    ),
    "chat": _Table(
        Conversation,
        {
            "organization_id": "org",
            "kind": "kind",
            "title": "title",
            "created_by_id": "created_by",
            "created_at": "created_at",
            "deleted_at": "deleted_at",
            "school_class_id": "class",
            "purpose": "purpose",
        },
        organization_attr="organization_id",
    ),
    "message": _Table(
        Message,
        {
            "conversation_id": "chat",
            "author_id": "author",
            "written_at": "sent_at",
            "text": "text",
            "deleted_at": "deleted_at",
        },
    ),
    "call": _Table(
        Call,
        {
            "organization_id": "org",
            "conversation_id": "chat",
            "created_by_id": "created_by",
            "created_at": "created_at",
            "ended_at": "ended_at",
        },
    ),
}


# The attributes of each type's row that hold another record's pk.
_FOREIGN_KEYS: dict[str, tuple[str, ...]] = {
    "region": (),
    "district": ("region_id",),
    "org": ("district_id",),
    "user": (),
    "role": ("person_id", "organization_id"),
    "class": ("organization_id", "class_teacher_id"),
    "chat": ("organization_id", "school_class_id", "created_by_id"),
    "message": ("conversation_id", "organization_id", "author_id"),
    "call": ("organization_id", "conversation_id", "created_by_id"),
    "call_participant": ("call_id", "person_id"),
}


@dataclass(eq=False)
class _Item:
    """A record waiting to be written: its line, the unsaved row, and chat members.

    A row may refer to another waiting record by holding its _Item in place of a pk;
    writing a type first writes the types before it, then puts the pks in. So a file
    that alternates calls and their participants is not written one call at a time.
    """

    line: int
    row: Any
    members: frozenset[Any] = frozenset()


def _ref_key(value: Any) -> Any:
    """The key a reference compares by: the referred record's pk once it is written, the
    waiting _Item until then; any other value as it is."""
    if isinstance(value, _Item) and value.row.pk is not None:
        return value.row.pk
    return value


class _SeenIds:
    """The message ids this import has written, in 16 MiB however long the file: a Bloom
    filter. Its "no" is certain; its "maybe" is wrong for about 1 id in 2,000 at 3.5 M ids,
    and the database (the id's unique index) settles those few.
    """

    BITS = 1 << 27

    def __init__(self) -> None:
        self.bits = bytearray(self.BITS >> 3)

    def meet(self, ids: Iterable[str]) -> list[str]:
        """Remember `ids`; return those that may have been met before."""
        bits, mask = self.bits, self.BITS - 1
        maybe = []
        for external_id in ids:
            digest = hash(external_id) & 0xFFFFFFFFFFFFFFFF
            first, step = digest & 0xFFFFFFFF, (digest >> 32) | 1
            seen = True
            for position in (first & mask, (first + step) & mask, (first + 2 * step) & mask):
                byte, bit = position >> 3, 1 << (position & 7)
                if not bits[byte] & bit:
                    seen = False
                    bits[byte] |= bit
            if seen:
                maybe.append(external_id)
        return maybe


class _Importer:
    def __init__(self) -> None:
        self.summary = ImportSummary()
        # external id → pk of every record met so far, per type that others refer to.
        self.ids: dict[str, dict[str, int]] = {name: {} for name in _TABLES if name != "message"}
        # pk → organization pk, for classes and chats (a chat's class, a call's chat must agree).
        self.organization_of: dict[str, dict[int, int]] = {"class": {}, "chat": {}}
        self.pending: dict[str, dict[Any, _Item]] = {name: {} for name in RECORD_TYPES}
        self.zones: dict[int, ZoneInfo] = {}
        self.tally: Counter[TallyKey] = Counter()
        self.role_reason = _("импорт истории")
        # One unusable password for all: make_password(None) draws 40 random characters a person,
        # and a "!" password never matches whatever follows it.
        self.unusable_password = make_password(None)
        self.adapt_time = time_adapter(connections[router.db_for_write(Message)])
        self.failed_writing = False
        self.stays = StaysFromHistory()
        # Messages go in behind the reading of the next batch; wait() before any other query.
        self.messages_behind = RowsBehind(Message, _MESSAGE_COLUMNS)
        # When no stored message has an external id, only ids this import writes can repeat,
        # and most batches need no query.
        self.message_ids = (
            None if Message.objects.filter(external_id__isnull=False).exists() else _SeenIds()
        )

    # Reading ----------------------------------------------------------------------------

    def add(self, record: Record) -> None:
        self.summary.lines = record.line
        match record:
            # The bulk of a history first: each case is an isinstance check.
            case MessageRecord():
                self._add_message(record)
            case CallParticipantRecord():
                self._add_call_participant(record)
            case RegionRecord():
                self._queue(
                    "region",
                    record.id,
                    record.line,
                    Region(
                        name=record.name,
                        time_zone=record.tz,
                        external_id=record.id,
                    ),
                )
            case DistrictRecord():
                self._queue(
                    "district",
                    record.id,
                    record.line,
                    District(
                        region_id=self._ref("region", record.region, record.line, "region"),
                        name=record.name,
                        external_id=record.id,
                    ),
                )
            case OrgRecord():
                self._queue(
                    "org",
                    record.id,
                    record.line,
                    Organization(
                        district_id=self._ref("district", record.district, record.line, "district"),
                        full_name=record.name,
                        kind=record.kind,
                        short_name=record.short_name,
                        inn=record.inn,
                        external_id=record.id,
                    ),
                )
            case UserRecord():
                self._queue(
                    "user",
                    record.id,
                    record.line,
                    Person(
                        surname=record.surname,
                        name=record.name,
                        patronymic=record.patronymic,
                        phone=record.phone,
                        external_id=record.id,
                    ),
                )
            case RoleRecord():
                self._add_role(record)
            case ClassRecord():
                self._add_class(record)
            case ChatRecord():
                self._add_chat(record)
            case CallRecord():
                self._add_call(record)

    def _add_role(self, record: RoleRecord) -> None:
        grant = RoleGrant(
            person_id=self._ref("user", record.user, record.line, "user"),
            organization_id=self._ref("org", record.org, record.line, "org"),
            role=record.role,
            valid_from=record.valid_from,
            valid_to=record.valid_to,
            reason=self.role_reason,
        )
        key = (grant.person_id, grant.organization_id, grant.role, grant.valid_from)
        earlier = self.pending["role"].get(key)
        if earlier is not None:
            if earlier.row.valid_to != grant.valid_to:
                raise ExchangeError(
                    record.line,
                    "to",
                    _(
                        "роль с тем же ключом (user, org, role, from) выше в файле "
                        "(строка %(line)d) записана с другим окончанием"
                    )
                    % {"line": earlier.line},
                )
            self.summary.unchanged["role"] += 1
            return
        self._put("role", key, _Item(record.line, grant))

    def _add_class(self, record: ClassRecord) -> None:
        grade, letter = parse_class_name(record.name)  # bulk_create skips SchoolClass.save()
        self._queue(
            "class",
            record.id,
            record.line,
            SchoolClass(
                organization_id=self._ref("org", record.org, record.line, "org"),
                name=record.name,
                grade=grade,
                letter=letter,
                class_teacher_id=(
                    self._ref("user", record.class_teacher, record.line, "class_teacher")
                    if record.class_teacher is not None
                    else None
                ),
                is_staff_class=record.staff,
                external_id=record.id,
            ),
        )

    def _add_chat(self, record: ChatRecord) -> None:
        organization_id = self._ref("org", record.org, record.line, "org")
        class_id = None
        if record.school_class is not None:
            class_id = self._ref("class", record.school_class, record.line, "class")
            if _ref_key(self._organization("class", class_id)) != _ref_key(organization_id):
                raise ExchangeError(
                    record.line,
                    "class",
                    _("класс «%(ref)s» из другой организации") % {"ref": record.school_class},
                )
        chat = Conversation(
            organization_id=organization_id,
            kind=record.kind,
            title=record.title,
            purpose=record.purpose,
            school_class_id=class_id,
            created_by_id=self._ref("user", record.created_by, record.line, "created_by"),
            created_at=record.created_at,
            deleted_at=record.deleted_at,
            external_id=record.id,
        )
        members = frozenset(
            self._ref("user", ref, record.line, "members") for ref in record.members
        )
        self._queue("chat", record.id, record.line, chat, members)

    def _add_message(self, record: MessageRecord) -> None:
        chat_id = self._ref("chat", record.chat, record.line, "chat")
        self._queue(
            "message",
            record.id,
            record.line,
            _NewMessage(
                chat_id,
                self._organization("chat", chat_id),
                self._ref("user", record.author, record.line, "author"),
                record.sent_at,
                record.text,
                record.deleted_at,
                record.id,
            ),
        )

    def _add_call(self, record: CallRecord) -> None:
        organization_id = self._ref("org", record.org, record.line, "org")
        chat_id = None
        if record.chat is not None:
            chat_id = self._ref("chat", record.chat, record.line, "chat")
            if _ref_key(self._organization("chat", chat_id)) != _ref_key(organization_id):
                raise ExchangeError(
                    record.line,
                    "chat",
                    _("чат «%(ref)s» из другой организации") % {"ref": record.chat},
                )
        self._queue(
            "call",
            record.id,
            record.line,
            Call(
                organization_id=organization_id,
                conversation_id=chat_id,
                created_by_id=self._ref("user", record.created_by, record.line, "created_by"),
                created_at=record.created_at,
                ended_at=record.ended_at,
                external_id=record.id,
            ),
        )

    def _add_call_participant(self, record: CallParticipantRecord) -> None:
        participation = CallParticipation(
            call_id=self._ref("call", record.call, record.line, "call"),
            person_id=self._ref("user", record.user, record.line, "user"),
            joined_at=record.joined_at,
            left_at=record.left_at,
        )
        key = (participation.call_id, participation.person_id, participation.joined_at)
        earlier = self.pending["call_participant"].get(key)
        if earlier is not None:
            if earlier.row.left_at != participation.left_at:
                raise ExchangeError(
                    record.line,
                    "left_at",
                    _(
                        "участие с тем же ключом (call, user, joined_at) выше в файле "
                        "(строка %(line)d) записано с другим временем выхода"
                    )
                    % {"line": earlier.line},
                )
            self.summary.unchanged["call_participant"] += 1
            return
        self._put("call_participant", key, _Item(record.line, participation))

    def _queue(
        self, type_name: str, key: str, line: int, row: Any, members: frozenset[int] = frozenset()
    ) -> None:
        """Queue a record keyed by its id; a repeat within the batch must be equal."""
        item = _Item(line, row, members)
        earlier = self.pending[type_name].get(key)
        if earlier is None:
            self._put(type_name, key, item)
            return
        self._check_same(
            type_name,
            key,
            item,
            _values(_TABLES[type_name], earlier.row),
            earlier.members,
            earlier.line,
        )
        self.summary.unchanged[type_name] += 1

    def _put(self, type_name: str, key: Any, item: _Item) -> None:
        pending = self.pending[type_name]
        pending[key] = item
        if len(pending) >= BATCH_SIZE:
            self.flush(type_name)

    def _organization(self, type_name: str, ref: Any) -> Any:
        if isinstance(ref, _Item):
            return ref.row.organization_id
        return self.organization_of[type_name][ref]

    def _ref(self, type_name: str, ref: str, line: int, field_name: str) -> Any:
        """The pk of the record `ref` refers to: met earlier in the file or already stored."""
        known = self.ids[type_name]
        pk = known.get(ref)
        if pk is not None:
            return pk
        if ref in self.pending[type_name]:
            return self.pending[type_name][ref]
        table = _TABLES[type_name]
        attrs = ["pk"] + ([table.organization_attr] if table.organization_attr else [])
        self.messages_behind.wait()
        stored = table.model._default_manager.filter(external_id=ref).values_list(*attrs).first()
        if stored is None:
            raise ExchangeError(
                line,
                field_name,
                _("нет записи «%(type)s» с id «%(ref)s» ни выше в файле, ни в базе")
                % {"type": type_name, "ref": ref},
            )
        known[ref] = stored[0]
        if table.organization_attr:
            self.organization_of[type_name][stored[0]] = stored[1]
        return stored[0]

    def _check_same(
        self,
        type_name: str,
        key: str,
        item: _Item,
        other: dict[str, Any],
        other_members: frozenset[int],
        other_line: int | None,
    ) -> None:
        """A repeated key: `other` is the earlier record (at `other_line`) or the stored one."""
        mine = _values(_TABLES[type_name], item.row)
        differs = next(
            (name for attr, name in _TABLES[type_name].fields.items() if mine[attr] != other[attr]),
            "members"
            if {_ref_key(m) for m in item.members} != {_ref_key(m) for m in other_members}
            else None,
        )
        if differs is None:
            return
        where = (
            _("в базе")
            if other_line is None
            else _("выше в файле (строка %(line)d)") % {"line": other_line}
        )
        raise ExchangeError(
            item.line,
            differs,
            _("запись «%(type)s» с ключом «%(id)s» уже есть %(where)s с другим значением")
            % {"type": type_name, "id": key, "where": where},
        )

    # Writing ----------------------------------------------------------------------------

    def flush(self, type_name: str) -> None:
        items = self.pending[type_name]
        if not items:
            return
        for earlier in RECORD_TYPES:
            if earlier == type_name:
                break
            self.flush(earlier)
        # Flushing the earlier types may have just sent a batch of messages behind.
        self.messages_behind.wait()
        for item in items.values():
            row = item.row
            for attr in _FOREIGN_KEYS[type_name]:
                value = getattr(row, attr)
                if isinstance(value, _Item):
                    setattr(row, attr, value.row.pk)
            if item.members:
                item.members = frozenset(_ref_key(member) for member in item.members)
        self.pending[type_name] = {}
        try:
            if type_name == "role":
                self._flush_roles(list(items.values()))
            elif type_name == "call_participant":
                self._flush_call_participants(items)
            else:
                self._flush_by_id(type_name, items)
        except ExchangeError:
            self.failed_writing = True
            raise

    def flush_all(self) -> None:
        for type_name in RECORD_TYPES:
            self.flush(type_name)
        self.messages_behind.wait()
        self.stays.finish()
        if self.tally:
            add_counts(self.tally)
            self.tally = Counter()

    def _flush_by_id(self, type_name: str, items: dict[str, _Item]) -> None:
        table = _TABLES[type_name]
        # An empty list makes no query at all.
        maybe_stored = self._maybe_stored_messages(items) if type_name == "message" else list(items)
        stored = {
            row["external_id"]: row
            for row in table.model._default_manager.filter(external_id__in=maybe_stored).values(
                "pk", "external_id", *table.fields
            )
        }
        stored_members = self._stored_members(stored.values()) if type_name == "chat" else {}
        new: list[_Item] = []
        for key, item in items.items():
            row = stored.get(key)
            if row is None:
                new.append(item)
                continue
            self._check_same(
                type_name, key, item, row, stored_members.get(row["pk"], frozenset()), None
            )
            if type_name in self.ids:
                item.row.pk = row["pk"]
            self.summary.unchanged[type_name] += 1
        if type_name == "user":
            self._check_phones_free(new)
            for item in new:
                item.row.password = self.unusable_password
        if type_name == "message":
            adapt_time = self.adapt_time
            self._count_messages([item.row for item in new])
            self.messages_behind.insert(
                [
                    (
                        m.conversation_id,
                        m.organization_id,
                        m.author_id,
                        adapt_time(m.written_at),
                        m.text,
                        adapt_time(m.deleted_at),
                        m.external_id,
                        m.is_service,
                    )
                    for m in (item.row for item in new)
                ],
            )
        else:
            insert_models(table.model, [item.row for item in new])
        self.summary.created[type_name] += len(new)
        if type_name in self.ids:
            known = self.ids[type_name]
            by_org = self.organization_of.get(type_name)
            for item in items.values():
                known[item.row.external_id] = item.row.pk
                if by_org is not None:
                    by_org[item.row.pk] = item.row.organization_id
        if type_name == "chat":
            insert_rows(
                ConversationMember,
                _MEMBER_COLUMNS,
                [
                    (item.row.pk, person_id, self.adapt_time(item.row.created_at))
                    for item in new
                    for person_id in sorted(item.members)
                ],
            )

    def _maybe_stored_messages(self, items: dict[str, _Item]) -> list[str]:
        if self.message_ids is None:
            return list(items)
        return self.message_ids.meet(items)

    @staticmethod
    def _stored_members(rows: Iterable[dict[str, Any]]) -> dict[int, frozenset[int]]:
        members: dict[int, set[int]] = {}
        for conversation_id, person_id in ConversationMember.objects.filter(
            conversation_id__in=[row["pk"] for row in rows], left_at__isnull=True
        ).values_list("conversation_id", "person_id"):
            members.setdefault(conversation_id, set()).add(person_id)
        return {pk: frozenset(people) for pk, people in members.items()}

    def _check_phones_free(self, new: list[_Item]) -> None:
        by_phone: dict[str, _Item] = {}
        for item in new:
            phone = item.row.phone
            if phone is None:
                continue
            if phone in by_phone:
                raise ExchangeError(
                    item.line,
                    "phone",
                    _("номер %(phone)s уже у человека «%(id)s» выше в файле")
                    % {"phone": phone, "id": by_phone[phone].row.external_id},
                )
            by_phone[phone] = item
        taken = dict(
            Person.objects.filter(phone__in=list(by_phone)).values_list("phone", "external_id")
        )
        for phone, item in by_phone.items():
            if phone in taken:
                raise ExchangeError(
                    item.line,
                    "phone",
                    _("номер %(phone)s уже у другого человека в базе (id «%(id)s»)")
                    % {"phone": phone, "id": taken[phone] or "—"},
                )

    def _count_messages(self, messages: list["_NewMessage"]) -> None:
        missing = {message.organization_id for message in messages} - self.zones.keys()
        if missing:
            self.zones.update(organization_zones(missing))
        self.tally.update(count_messages(messages, self.zones))

    def _flush_roles(self, items: list[_Item]) -> None:
        try:
            stored = import_role_grants([item.row for item in items])
        except RoleGrantConflict as exc:
            raise ExchangeError(
                items[exc.index].line,
                _ROLE_CONFLICT_FIELDS.get(exc.code or "", "from"),
                str(exc.message),
            ) from None
        self.summary.created["role"] += len(stored)
        self.summary.unchanged["role"] += len(items) - len(stored)

    def _flush_call_participants(self, items: dict[Any, _Item]) -> None:
        # Keys are rebuilt from pks: a key may have held a waiting call when it was queued.
        known: dict[tuple[int, int, datetime], tuple[datetime | None, int | None]] = {
            (call_id, person_id, joined_at): (left_at, None)
            for call_id, person_id, joined_at, left_at in CallParticipation.objects.filter(
                call_id__in={item.row.call_id for item in items.values()}
            ).values_list("call_id", "person_id", "joined_at", "left_at")
        }
        new = []
        for item in items.values():
            row = item.row
            key = (row.call_id, row.person_id, row.joined_at)
            if key not in known:
                known[key] = (row.left_at, item.line)
                new.append(row)
                continue
            left_at, line = known[key]
            if left_at != row.left_at:
                where = (
                    _("в базе")
                    if line is None
                    else _("выше в файле (строка %(line)d)") % {"line": line}
                )
                raise ExchangeError(
                    item.line,
                    "left_at",
                    _(
                        "участие с тем же ключом (call, user, joined_at) уже есть %(where)s "
                        "с другим временем выхода"
                    )
                    % {"where": where},
                )
        self.stays.add(new)
        self.summary.created["call_participant"] += len(new)
        self.summary.unchanged["call_participant"] += len(items) - len(new)


@dataclass(slots=True)
class _NewMessage:
    """A message to insert; building a Message instance per row would halve the import's speed."""

    conversation_id: int
    organization_id: int
    author_id: int
    written_at: datetime
    text: str
    deleted_at: datetime | None
    external_id: str
    is_service: bool = False


_MESSAGE_COLUMNS = tuple(column.name for column in fields(_NewMessage))
_MEMBER_COLUMNS = ("conversation_id", "person_id", "joined_at")


def _values(table: _Table, row: Any) -> dict[str, Any]:
    return {attr: _ref_key(getattr(row, attr)) for attr in table.fields}


# SQLite's page cache during an import, in KiB: the default 2 MiB makes every insert into
# the message indexes read pages back from the file once the tables outgrow it.
SQLITE_IMPORT_CACHE_KIB = 256 * 1024


@contextmanager
def _bulk_write_settings() -> Iterator[None]:
    connection = connections[router.db_for_write(Message)]
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA cache_size")
        (before,) = cursor.fetchone()
        cursor.execute(f"PRAGMA cache_size = -{SQLITE_IMPORT_CACHE_KIB}")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA cache_size = {int(before)}")


class InitialLoadRefused(Exception):
    """An initial load asked for a database that already holds messages."""


def import_activity(
    lines: Iterable[bytes],
    *,
    source: str = "",
    progress: Callable[[int], object] | None = None,
    initial_load: bool = False,
) -> ImportSummary:
    """Store the history in `lines` (a JSON Lines byte stream), all or nothing.

    Raises ExchangeError naming the first bad line; then nothing is stored. `initial_load`
    (a database without messages only) also leaves the message foreign keys out until the
    end on PostgreSQL: faster, but the whole site waits for the import
    (bulk.keys_checked_after_load).
    """
    with _bulk_write_settings(), transaction.atomic(), ExitStack() as load:
        if Message.objects.exists():
            if initial_load:
                raise InitialLoadRefused(
                    _("Первичная загрузка — только в базу без сообщений; импортируйте без неё.")
                )
        else:
            load.enter_context(indexes_built_after_load(Message))
            if initial_load:
                load.enter_context(keys_checked_after_load(Message))
        load.enter_context(keys_checked_as_rows_go_in(Message))
        summary = _import(lines, source, progress)
    connection = connections[router.db_for_write(Message)]
    if connection.vendor == "postgresql" and summary.created:
        # Perhaps millions of new rows, and no planner statistics until autovacuum comes.
        tables = {_TABLES[name].model._meta.db_table for name in summary.created if name in _TABLES}
        tables |= {
            model._meta.db_table
            for model in (RoleGrant, CallParticipation, ConversationMember, WeeklyMessageTally)
        }
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE " + ", ".join(map(connection.ops.quote_name, sorted(tables))))
    return summary


def _import(
    lines: Iterable[bytes], source: str, progress: Callable[[int], object] | None
) -> ImportSummary:
    importer = _Importer()
    with importer.messages_behind:
        try:
            for record in read_records(lines, progress):
                importer.add(record)
            importer.flush_all()
        except ExchangeError as error:
            raise _earliest(importer, error) from None
    summary = importer.summary
    # Drop the zero counts of types that had nothing new.
    summary.created, summary.unchanged = +summary.created, +summary.unchanged
    if summary.created:
        record_audit(
            "activity.imported",
            source=source,
            lines=summary.lines,
            created=dict(summary.created),
        )
    return summary


def _earliest(importer: _Importer, error: ExchangeError) -> ExchangeError:
    """The error of the first bad line: a record still waiting may be wrong above `error`.

    Only when `error` came from reading a line: after a failed write, waiting records
    may refer to rows that were never written, so nothing more is written.
    """
    if importer.failed_writing:
        return error
    try:
        importer.flush_all()
    except ExchangeError as earlier:
        if earlier.line < error.line:
            return earlier
    return error

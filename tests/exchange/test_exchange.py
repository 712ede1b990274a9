"""History import and export in the exchange format (docs/exchange-format.md)."""

import io
import json
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from parta.accounts.models import AuditEntry, Person, RoleGrant
from parta.calls.models import Call, CallParticipation
from parta.calls.selectors import calls_with_stale_held
from parta.exchange.exporter import export_activity
from parta.exchange.importer import (
    ImportSummary,
    InitialLoadRefused,
    _SeenIds,
    import_activity,
)
from parta.exchange.reader import ExchangeError, _quick_message, parse_record
from parta.messaging.models import Conversation, ConversationMember, Message
from parta.monitoring import tallies
from parta.monitoring.engine import weekly_report
from parta.monitoring.models import WeeklyMessageTally
from parta.monitoring.scopes import resolve_scope
from parta.monitoring.weeks import Week
from parta.structure.models import District, Organization, Region, SchoolClass
from tests.factories import local, make_member, make_org

DATA = Path(__file__).parents[2] / "docs" / "examples"
EXAMPLE = (DATA / "example-activity.jsonl").read_text(encoding="utf-8").splitlines()
EXPECTED_W47 = json.loads((DATA / "example-report-2026-W47.json").read_text(encoding="utf-8"))
ALL_KINDS = "school,authority,other"

# Every table the importer writes, in an order that deletes cleanly.
MODELS = (
    WeeklyMessageTally,
    Message,
    CallParticipation,
    Call,
    ConversationMember,
    Conversation,
    SchoolClass,
    RoleGrant,
    Person,
    Organization,
    District,
    Region,
)


def run(lines: list[str]) -> ImportSummary:
    return import_activity(io.BytesIO(("\n".join(lines) + "\n").encode()))


def counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in MODELS}


def report(kinds: str | None = None) -> dict:
    return weekly_report(resolve_scope(kinds=kinds), Week.parse("2026-W47")).as_dict()


def ext(obj) -> str | None:
    return obj.external_id if obj is not None else None


def snapshot() -> dict[str, list[tuple]]:
    """Every imported row, naming other rows by external id so two databases compare."""
    return {
        "region": sorted((r.external_id, r.name, r.time_zone) for r in Region.objects.all()),
        "district": sorted(
            (d.external_id, d.region.external_id, d.name) for d in District.objects.all()
        ),
        "org": sorted(
            (o.external_id, o.district.external_id, o.full_name, o.kind, o.short_name, o.inn)
            for o in Organization.objects.all()
        ),
        "user": sorted(
            (p.external_id, p.surname, p.name, p.patronymic, p.phone or "")
            for p in Person.objects.all()
        ),
        "role": sorted(
            (
                g.person.external_id,
                g.organization.external_id,
                g.role,
                g.valid_from,
                g.valid_to or datetime.max.replace(tzinfo=UTC),
            )
            for g in RoleGrant.objects.all()
        ),
        "class": sorted(
            (
                c.external_id,
                c.organization.external_id,
                c.name,
                c.grade,
                c.letter,
                ext(c.class_teacher) or "",
                c.is_staff_class,
            )
            for c in SchoolClass.objects.all()
        ),
        "chat": sorted(
            (
                c.external_id,
                c.organization.external_id,
                c.kind,
                c.title,
                c.purpose,
                c.created_by.external_id,
                c.created_at,
                str(c.deleted_at),
                ext(c.school_class) or "",
                tuple(sorted(m.person.external_id or "" for m in c.members.all())),
            )
            for c in Conversation.objects.all()
        ),
        "message": sorted(
            (
                m.external_id,
                m.conversation.external_id,
                m.organization.external_id,
                m.author.external_id,
                m.written_at,
                m.text,
                str(m.deleted_at),
            )
            for m in Message.objects.all()
        ),
        "call": sorted(
            (
                c.external_id,
                c.organization.external_id,
                ext(c.conversation) or "",
                c.created_by.external_id,
                c.created_at,
                str(c.ended_at),
            )
            for c in Call.objects.all()
        ),
        "call_participant": sorted(
            (p.call.external_id, p.person.external_id, p.joined_at, str(p.left_at))
            for p in CallParticipation.objects.all()
        ),
        "tally": sorted(
            (t.organization.external_id, t.person.external_id, t.week_monday, t.messages)
            for t in WeeklyMessageTally.objects.all()
        ),
    }


def wipe() -> None:
    for model in MODELS:
        model.objects.all().delete()


# The spec's example


@pytest.mark.django_db
def test_example_file_stores_every_record():
    summary = run(EXAMPLE)
    assert summary.created == {
        "region": 1,
        "district": 1,
        "org": 3,
        "user": 7,
        "role": 11,
        "class": 2,
        "chat": 5,
        "message": 25,
        "call": 6,
        "call_participant": 11,
    }
    region = Region.objects.get(external_id="r1")
    assert (region.name, region.time_zone) == ("Красноярский край", "Asia/Krasnoyarsk")
    s1 = Organization.objects.get(external_id="s1")
    assert (s1.full_name, s1.short_name, s1.kind) == ("МБОУ Мотыгинская СОШ №1", "СОШ №1", "school")
    assert s1.district.external_id == "d1"
    head = Person.objects.get(external_id="head")
    assert (head.surname, head.name, head.patronymic, head.phone) == (
        "Иванова",
        "Анна",
        "Петровна",
        "+79130000001",
    )
    assert not head.has_usable_password()
    assert Person.objects.get(external_id="st1").patronymic == ""
    t3 = RoleGrant.objects.get(person__external_id="t3")
    assert t3.valid_from == local("2026-09-01 00:00")
    assert t3.valid_to == local("2026-11-18 12:00")
    five_a = SchoolClass.objects.get(external_id="s1-5a")
    assert five_a.class_teacher is not None
    assert (five_a.grade, five_a.letter, five_a.class_teacher.external_id) == (5, "А", "t1")
    assert SchoolClass.objects.get(external_id="s1-staff").is_staff_class
    c1 = Conversation.objects.get(external_id="c1")
    assert c1.school_class is not None and c1.created_by is not None
    assert (c1.school_class.external_id, c1.purpose, c1.created_by.external_id) == (
        "s1-5a",
        "class",
        "t1",
    )
    assert {(m.person.external_id, m.joined_at) for m in c1.members.all()} == {
        ("t1", c1.created_at),
        ("st1", c1.created_at),
    }
    assert Conversation.objects.get(external_id="c3").kind == "channel"
    assert Conversation.objects.get(external_id="c4").deleted_at == local("2026-11-20 12:00")
    assert Conversation.objects.get(external_id="c2").purpose == "staff"
    m1 = Message.objects.get(external_id="m1")
    assert m1.written_at == local("2026-11-16 00:00")  # 17:00Z is Monday 00:00 in Krasnoyarsk
    assert (m1.organization.external_id, m1.author.external_id) == ("s1", "t1")
    assert Message.objects.get(external_id="m3").deleted_at == local("2026-11-23 09:00")
    k2 = Call.objects.get(external_id="k2")
    assert (k2.conversation, k2.organization.external_id) == (None, "s1")
    assert (
        CallParticipation.objects.get(call__external_id="k5", person__external_id="p1").left_at
        is None
    )
    assert AuditEntry.objects.filter(action="activity.imported").count() == 1


@pytest.mark.django_db
def test_example_file_gives_the_spec_report():
    run(EXAMPLE)
    assert report() == EXPECTED_W47


@pytest.mark.django_db
def test_tallies_equal_a_recount_after_import_and_reimport():
    run(EXAMPLE)
    assert tallies.stored() == tallies.recount()
    assert sum(tallies.stored().values()) == 25
    run(EXAMPLE)
    assert tallies.stored() == tallies.recount()
    assert sum(tallies.stored().values()) == 25


@pytest.mark.django_db
def test_reimport_changes_nothing():
    run(EXAMPLE)
    before, rows = snapshot(), counts()
    summary = run(EXAMPLE)
    assert summary.created == {}
    assert sum(summary.unchanged.values()) == len(EXAMPLE)
    assert snapshot() == before
    assert counts() == rows
    assert AuditEntry.objects.filter(action="activity.imported").count() == 1


@pytest.mark.django_db
def test_messages_written_behind_the_reading_keep_repeats_across_batches(monkeypatch):
    """Messages go in on a worker thread while the next batch is read; a message repeated
    several batches later must still be found stored, not inserted twice."""
    monkeypatch.setattr("parta.exchange.importer.BATCH_SIZE", 2)
    first = next(i for i, line in enumerate(EXAMPLE) if '"type": "message"' in line)
    summary = run([*EXAMPLE, EXAMPLE[first]])
    assert summary.created["message"] == 25
    assert summary.unchanged["message"] == 1
    assert Message.objects.count() == 25
    assert tallies.stored() == tallies.recount()


@pytest.mark.django_db
def test_a_changed_repeat_several_batches_later_is_refused(monkeypatch):
    monkeypatch.setattr("parta.exchange.importer.BATCH_SIZE", 2)
    first = next(i for i, line in enumerate(EXAMPLE) if '"type": "message"' in line)
    changed = json.loads(EXAMPLE[first]) | {"text": "другой текст"}
    with pytest.raises(ExchangeError) as refused:
        run([*EXAMPLE, json.dumps(changed, ensure_ascii=False)])
    assert (refused.value.line, refused.value.field) == (len(EXAMPLE) + 1, "text")
    assert counts() == dict.fromkeys(counts(), 0)


@pytest.mark.django_db
def test_message_keys_are_deferred_again_after_an_import():
    """PostgreSQL: the import checks the message keys as rows go in, then puts them back
    to Django's deferred mode, so later writes of the same transaction behave as before."""
    if connection.vendor != "postgresql":
        pytest.skip("SET CONSTRAINTS is PostgreSQL's")
    run(EXAMPLE)
    author = Person.objects.get(external_id="t1")
    chat = Conversation.objects.get(external_id="c1")
    with connection.cursor() as cursor:
        cursor.execute("SAVEPOINT deferred_check")
        # A deferred key accepts a dangling reference until the commit.
        Message.objects.create(
            conversation_id=chat.pk + 10_000,
            organization_id=chat.organization_id,
            author=author,
            written_at=chat.created_at,
            text="проверка",
        )
        cursor.execute("ROLLBACK TO SAVEPOINT deferred_check")


def message_table_indexes() -> dict:
    with connection.cursor() as cursor:
        found = connection.introspection.get_constraints(cursor, Message._meta.db_table)
    return {
        name: (c["columns"], c["unique"], c["index"], c["foreign_key"]) for name, c in found.items()
    }


@pytest.mark.django_db
def test_an_empty_message_table_gets_every_index_back_after_a_load_or_a_failure():
    before = message_table_indexes()
    assert len([c for c in before.values() if c[2] and not c[1]]) >= 5  # indexes to rebuild
    run(EXAMPLE)
    assert message_table_indexes() == before
    wipe()
    with pytest.raises(ExchangeError):
        run([*EXAMPLE, '{"type": "message", "id": "bad"}'])
    assert message_table_indexes() == before
    assert Message.objects.count() == 0


@pytest.mark.django_db
def test_an_initial_load_stores_the_same_and_puts_every_key_back():
    before = message_table_indexes()
    assert any(c[3] for c in before.values())  # foreign keys to put back
    import_activity(io.BytesIO(("\n".join(EXAMPLE) + "\n").encode()), initial_load=True)
    loaded, loaded_report = snapshot(), report()
    assert message_table_indexes() == before
    wipe()
    run(EXAMPLE)
    assert (snapshot(), report()) == (loaded, loaded_report)


@pytest.mark.django_db
def test_an_initial_load_is_refused_where_messages_exist_and_a_failed_one_keeps_the_keys():
    run(EXAMPLE)
    with pytest.raises(InitialLoadRefused):
        import_activity(io.BytesIO(b""), initial_load=True)
    wipe()
    before = message_table_indexes()
    with pytest.raises(ExchangeError):
        import_activity(
            io.BytesIO(("\n".join([*EXAMPLE, '{"type": "message"}']) + "\n").encode()),
            initial_load=True,
        )
    assert message_table_indexes() == before
    assert counts() == dict.fromkeys(counts(), 0)


def test_the_import_command_takes_an_initial_load(tmp_path, db):
    path = tmp_path / "history.jsonl"
    path.write_text("\n".join(EXAMPLE) + "\n", encoding="utf-8")
    call_command("import_activity", str(path), "--quiet", "--initial-load")
    assert Message.objects.count() == 25
    with pytest.raises(CommandError, match="только в базу без сообщений"):
        call_command("import_activity", str(path), "--quiet", "--initial-load")


def test_seen_message_ids_never_forget_and_rarely_imagine():
    seen = _SeenIds()
    assert seen.meet(f"m{n}" for n in range(100_000)) == []
    assert seen.meet(f"m{n}" for n in range(0, 100_000, 7)) == [
        f"m{n}" for n in range(0, 100_000, 7)
    ]
    imagined = seen.meet(f"x{n}" for n in range(100_000))
    assert len(imagined) < 10  # ≈ 0.00001 at this fill


@pytest.mark.django_db
def test_a_bad_message_while_earlier_ones_are_being_written_stores_nothing(monkeypatch):
    monkeypatch.setattr("parta.exchange.importer.BATCH_SIZE", 2)
    messages = [i for i, line in enumerate(EXAMPLE) if '"type": "message"' in line]
    bad_at = messages[len(messages) // 2]
    bad = json.loads(EXAMPLE[bad_at]) | {"author": "nobody"}
    lines = [*EXAMPLE[:bad_at], json.dumps(bad, ensure_ascii=False), *EXAMPLE[bad_at + 1 :]]
    with pytest.raises(ExchangeError) as refused:
        run(lines)
    assert (refused.value.line, refused.value.field) == (bad_at + 1, "author")
    assert counts() == dict.fromkeys(counts(), 0)


@pytest.mark.django_db
def test_no_other_query_runs_while_messages_are_written_behind(monkeypatch):
    """A full batch of calls first flushes the messages waiting before it: the calls' own
    queries must wait for that worker."""
    import parta.bulk

    monkeypatch.setattr("parta.exchange.importer.BATCH_SIZE", 5)
    head = [
        line
        for line in EXAMPLE
        if json.loads(line)["type"] not in ("message", "call", "call_participant")
    ]
    messages = [
        json.dumps(
            {
                "type": "message",
                "id": f"x{n}",
                "chat": "c1",
                "author": "t1",
                "sent_at": "2026-11-17T10:00:00+07:00",
                "text": "…",
            }
        )
        for n in range(3)
    ]
    calls = [
        json.dumps(
            {
                "type": "call",
                "id": f"y{n}",
                "org": "s1",
                "created_by": "t1",
                "created_at": "2026-11-17T10:00:00+07:00",
            }
        )
        for n in range(5)
    ]
    writing = threading.Event()
    real = parta.bulk.RowsBehind._insert

    def slow_insert(self, *args):
        writing.set()
        time.sleep(0.2)  # widens the window; it exists without this
        try:
            real(self, *args)
        finally:
            writing.clear()

    monkeypatch.setattr(parta.bulk.RowsBehind, "_insert", slow_insert)
    meanwhile = []

    def watch(execute, sql, params, many, context):
        if threading.current_thread() is threading.main_thread() and writing.is_set():
            meanwhile.append(sql[:60])
        return execute(sql, params, many, context)

    with connection.execute_wrapper(watch):
        run([*head, *messages, *calls])
    assert meanwhile == []
    assert (Message.objects.count(), Call.objects.count()) == (3, 5)


@pytest.mark.django_db
def test_a_failed_write_behind_the_reading_stores_nothing(monkeypatch):
    import parta.bulk

    real = parta.bulk.insert_rows

    def failing(model, attnames, rows, connection=None):
        if model is Message:
            raise RuntimeError("disk full")
        return real(model, attnames, rows, connection)

    monkeypatch.setattr(parta.bulk, "insert_rows", failing)
    with pytest.raises(RuntimeError, match="disk full"):
        run(EXAMPLE)
    monkeypatch.undo()
    assert counts() == dict.fromkeys(counts(), 0)


@pytest.mark.django_db
def test_imported_calls_store_the_moment_they_were_held():
    run(EXAMPLE)
    held = dict(Call.objects.values_list("external_id", "held_at"))
    assert held == {
        "k1": local("2026-11-23 00:10"),  # held after its week, still counts in it
        "k2": None,  # the head alone
        "k3": None,  # one after the other
        "k4": local("2026-11-17 14:01"),
        "k5": local("2026-11-19 14:05"),  # the parent never left
        "k6": local("2026-11-21 14:10"),
    }
    assert not calls_with_stale_held().exists()


@pytest.mark.django_db
def test_equal_repeats_in_one_file_are_kept_once():
    repeats = [
        EXAMPLE[5],  # user head
        # the same role start written in another offset is the same instant
        '{"type": "role", "user": "t1", "org": "s1", "role": "teacher", '
        '"from": "2026-08-31T17:00:00Z"}',
        '{"type": "chat", "id": "c1", "org": "s1", "kind": "chat", "title": "5А — классный чат", '
        '"created_by": "t1", "created_at": "2026-11-10T02:00:00Z", "class": "s1-5a", '
        '"purpose": "class", "members": ["st1", "t1"]}',
        EXAMPLE[30],  # message m1
        EXAMPLE[-1],  # a call participant
    ]
    summary = run(EXAMPLE + repeats)
    assert summary.created["message"] == 25
    assert summary.unchanged == {
        "user": 1,
        "role": 1,
        "chat": 1,
        "message": 1,
        "call_participant": 1,
    }
    assert counts()["Message"] == 25
    assert counts()["ConversationMember"] == 2
    assert tallies.stored() == tallies.recount()


# Bad files: the first bad line is named with its field, and nothing is stored

REGION = '{"type": "region", "id": "r1", "name": "Край", "tz": "Asia/Krasnoyarsk"}'
N = len(EXAMPLE)
BAD_LINES = {
    "malformed JSON": ('{"type": "region", "id": "r9", ', None),
    "not an object": ('["region"]', None),
    "not UTF-8": (b'{"type": "region", "id": "r9", "name": "\xff", "tz": "UTC"}', None),
    "unknown type": ('{"type": "school", "id": "x"}', "type"),
    "missing type": ('{"id": "x"}', "type"),
    "unknown field": (
        '{"type": "message", "id": "m99", "chat": "c1", "author": "t1", '
        '"sent_at": "2026-11-18T10:00:00+07:00", "txt": "опечатка"}',
        "txt",
    ),
    "missing field": ('{"type": "user", "id": "u9"}', "name"),
    "null required field": ('{"type": "user", "id": "u9", "name": null}', "name"),
    "empty required field": ('{"type": "user", "id": "u9", "name": "  "}', "name"),
    "wrong JSON type": ('{"type": "user", "id": 9, "name": "Петров Пётр"}', "id"),
    "bool for a string": ('{"type": "user", "id": true, "name": "Петров Пётр"}', "id"),
    "string for a bool": (
        '{"type": "class", "id": "k9", "org": "s1", "name": "6Б", "staff": "yes"}',
        "staff",
    ),
    "members not a list": (
        '{"type": "chat", "id": "c9", "org": "s1", "kind": "chat", "title": "x", '
        '"created_by": "t1", "created_at": "2026-11-18T10:00:00+07:00", "members": "t1"}',
        "members",
    ),
    "bad enum value": (
        '{"type": "org", "id": "s9", "district": "d1", "name": "Колледж", "kind": "college"}',
        "kind",
    ),
    "bad role": (
        '{"type": "role", "user": "t1", "org": "s2", "role": "director", '
        '"from": "2026-09-01T00:00:00+07:00"}',
        "role",
    ),
    "bad chat kind": (
        '{"type": "chat", "id": "c9", "org": "s1", "kind": "group", "title": "x", '
        '"created_by": "t1", "created_at": "2026-11-18T10:00:00+07:00"}',
        "kind",
    ),
    "unknown reference": (
        '{"type": "message", "id": "m99", "chat": "c404", "author": "t1", '
        '"sent_at": "2026-11-18T10:00:00+07:00"}',
        "chat",
    ),
    "unknown member": (
        '{"type": "chat", "id": "c9", "org": "s1", "kind": "chat", "title": "x", '
        '"created_by": "t1", "created_at": "2026-11-18T10:00:00+07:00", '
        '"members": ["t1", "nobody"]}',
        "members",
    ),
    "reference of the wrong type": (
        '{"type": "message", "id": "m99", "chat": "s1", "author": "t1", '
        '"sent_at": "2026-11-18T10:00:00+07:00"}',
        "chat",
    ),
    "role to before from": (
        '{"type": "role", "user": "t1", "org": "s2", "role": "teacher", '
        '"from": "2026-09-01T00:00:00+07:00", "to": "2026-08-01T00:00:00+07:00"}',
        "to",
    ),
    "role to equal to from": (
        '{"type": "role", "user": "t1", "org": "s2", "role": "teacher", '
        '"from": "2026-09-01T00:00:00+07:00", "to": "2026-08-31T17:00:00Z"}',
        "to",
    ),
    "left before joined": (
        '{"type": "call_participant", "call": "k2", "user": "t1", '
        '"joined_at": "2026-11-17T09:10:00+07:00", "left_at": "2026-11-17T09:00:00+07:00"}',
        "left_at",
    ),
    "deleted before written": (
        '{"type": "message", "id": "m99", "chat": "c1", "author": "t1", '
        '"sent_at": "2026-11-18T10:00:00+07:00", "deleted_at": "2026-11-18T09:00:00+07:00"}',
        "deleted_at",
    ),
    "naive timestamp": (
        '{"type": "message", "id": "m99", "chat": "c1", "author": "t1", '
        '"sent_at": "2026-11-18T10:00:00"}',
        "sent_at",
    ),
    "not a timestamp": (
        '{"type": "message", "id": "m99", "chat": "c1", "author": "t1", "sent_at": "вчера"}',
        "sent_at",
    ),
    # Message lines take a quick path; each of its checks must fall back to the full ones.
    "message text not a string": (
        '{"type": "message", "id": "m99", "chat": "c1", "author": "t1", '
        '"sent_at": "2026-11-18T10:00:00+07:00", "text": 5}',
        "text",
    ),
    "message id blank": (
        '{"type": "message", "id": " ", "chat": "c1", "author": "t1", '
        '"sent_at": "2026-11-18T10:00:00+07:00"}',
        "id",
    ),
    "message author too long": (
        '{"type": "message", "id": "m99", "chat": "c1", "author": "' + "t" * 101 + '", '
        '"sent_at": "2026-11-18T10:00:00+07:00"}',
        "author",
    ),
    "message without sent_at": (
        '{"type": "message", "id": "m99", "chat": "c1", "author": "t1"}',
        "sent_at",
    ),
    "message sent_at a number": (
        '{"type": "message", "id": "m99", "chat": "c1", "author": "t1", "sent_at": 1763434800}',
        "sent_at",
    ),
    "message deleted_at naive": (
        '{"type": "message", "id": "m99", "chat": "c1", "author": "t1", '
        '"sent_at": "2026-11-18T10:00:00+07:00", "deleted_at": "2026-11-18T11:00:00"}',
        "deleted_at",
    ),
    "message deleted_at not a time": (
        '{"type": "message", "id": "m99", "chat": "c1", "author": "t1", '
        '"sent_at": "2026-11-18T10:00:00+07:00", "deleted_at": true}',
        "deleted_at",
    ),
    "unknown message author": (
        '{"type": "message", "id": "m99", "chat": "c1", "author": "nobody", '
        '"sent_at": "2026-11-18T10:00:00+07:00"}',
        "author",
    ),
    "bad phone": ('{"type": "user", "id": "u9", "name": "Петров Пётр", "phone": "+7123"}', "phone"),
    "phone of another person": (
        '{"type": "user", "id": "u9", "name": "Петров Пётр", "phone": "8 913 000-00-01"}',
        "phone",
    ),
    "unknown IANA zone": (
        '{"type": "region", "id": "r9", "name": "Марс", "tz": "Mars/Olympus"}',
        "tz",
    ),
    "bad INN": (
        '{"type": "org", "id": "s9", "district": "d1", "name": "Школа", "kind": "school", '
        '"inn": "2426000000"}',
        "inn",
    ),
    "id too long": ('{"type": "user", "id": "' + "x" * 101 + '", "name": "Петров Пётр"}', "id"),
    "repeat with another value": ('{"type": "user", "id": "t1", "name": "Смирнова Елена"}', "name"),
    "repeat of a chat with other members": (
        '{"type": "chat", "id": "c1", "org": "s1", "kind": "chat", "title": "5А — классный чат", '
        '"created_by": "t1", "created_at": "2026-11-10T09:00:00+07:00", "class": "s1-5a", '
        '"purpose": "class", "members": ["t1"]}',
        "members",
    ),
    "repeat of a role with another end": (
        '{"type": "role", "user": "t1", "org": "s1", "role": "teacher", '
        '"from": "2026-09-01T00:00:00+07:00", "to": "2026-12-01T00:00:00+07:00"}',
        "to",
    ),
    "overlapping role": (
        '{"type": "role", "user": "t3", "org": "s1", "role": "teacher", '
        '"from": "2026-11-01T00:00:00+07:00"}',
        "from",
    ),
    "repeat of a participation with another end": (
        '{"type": "call_participant", "call": "k2", "user": "head", '
        '"joined_at": "2026-11-17T09:00:00+07:00", "left_at": "2026-11-17T09:30:00+07:00"}',
        "left_at",
    ),
    "class of another organization": (
        '{"type": "chat", "id": "c9", "org": "s2", "kind": "chat", "title": "x", '
        '"created_by": "t2", "created_at": "2026-11-18T10:00:00+07:00", "class": "s1-5a"}',
        "class",
    ),
    "chat of another organization": (
        '{"type": "call", "id": "k9", "org": "s2", "chat": "c1", "created_by": "t2", '
        '"created_at": "2026-11-18T10:00:00+07:00"}',
        "chat",
    ),
}


@pytest.mark.django_db
@pytest.mark.parametrize(("bad", "field"), BAD_LINES.values(), ids=BAD_LINES.keys())
def test_bad_line_after_a_good_file_stores_nothing(bad, field):
    payload = ("\n".join(EXAMPLE) + "\n").encode() + (
        bad if isinstance(bad, bytes) else bad.encode()
    )
    with pytest.raises(ExchangeError) as caught:
        import_activity(io.BytesIO(payload))
    assert (caught.value.line, caught.value.field) == (N + 1, field), str(caught.value)
    assert str(caught.value).startswith(f"строка {N + 1}")
    assert set(counts().values()) == {0}
    assert not AuditEntry.objects.exists()


@pytest.mark.django_db
def test_messages_keep_text_times_and_deletion_as_written():
    run(
        [
            *EXAMPLE,
            '{"type": "message", "id": "m99", "chat": "c1", "author": "t1", '
            '"sent_at": "2026-11-18T10:00:00.250+07:00", "deleted_at": "2026-11-18T03:00:01Z", '
            '"text": null}',
        ]
    )
    message = Message.objects.get(external_id="m99")
    assert (message.text, message.is_service) == ("", False)
    assert message.written_at == datetime(2026, 11, 18, 3, 0, 0, 250000, tzinfo=UTC)
    assert message.deleted_at == datetime(2026, 11, 18, 3, 0, 1, tzinfo=UTC)
    assert Message.objects.filter(written_at__lt=message.deleted_at, external_id="m99").exists()


def test_quick_message_path_reads_what_the_full_checks_read():
    lines = [line for line in EXAMPLE if '"type": "message"' in line]
    assert len(lines) == 25
    for number, line in enumerate(lines, start=1):
        obj = json.loads(line)
        assert _quick_message(obj, number) == parse_record(obj, number)
    # A line the quick checks refuse goes to the full ones, which name the field.
    assert _quick_message({**json.loads(lines[0]), "text": 5}, 1) is None


@pytest.mark.django_db
def test_sqlite_page_cache_is_restored_after_an_import():
    if connection.vendor != "sqlite":
        pytest.skip("a SQLite setting")
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA cache_size")
        (before,) = cursor.fetchone()
        run(EXAMPLE)
        cursor.execute("PRAGMA cache_size")
        assert cursor.fetchone() == (before,)


@pytest.mark.django_db
def test_bad_line_against_stored_history_changes_nothing():
    run(EXAMPLE)
    before, rows = snapshot(), counts()
    changed = [
        *EXAMPLE[:7],
        '{"type": "user", "id": "t1", "name": "Смирнова Елена Викторовна", '
        '"phone": "+79130000009"}',
    ]
    with pytest.raises(ExchangeError) as caught:
        run([*changed, REGION.replace("r1", "r2")])
    assert (caught.value.line, caught.value.field) == (8, "phone")
    assert "в базе" in caught.value.problem
    assert (snapshot(), counts()) == (before, rows)


@pytest.mark.django_db
def test_reference_to_a_later_record_is_refused():
    lines = [*EXAMPLE[:5], EXAMPLE[6].replace('"id": "adm"', '"id": "adm2"')]
    lines.insert(
        5,
        '{"type": "role", "user": "adm2", "org": "s1", "role": "admin", '
        '"from": "2026-09-01T00:00:00+07:00"}',
    )
    with pytest.raises(ExchangeError) as caught:
        run(lines)
    assert (caught.value.line, caught.value.field) == (6, "user")
    assert set(counts().values()) == {0}


@pytest.mark.django_db
def test_the_first_bad_line_is_named_even_when_found_later():
    # Line N+1 differs from an earlier record, which shows only when its batch is written;
    # line N+2 is not JSON at all. The error must still name line N+1.
    lines = [
        *EXAMPLE,
        '{"type": "message", "id": "m2", "chat": "c1", "author": "t1", '
        '"sent_at": "2026-11-18T10:00:00+07:00", "text": "другой текст"}',
        "{oops",
    ]
    with pytest.raises(ExchangeError) as caught:
        run(lines)
    assert (caught.value.line, caught.value.field) == (N + 1, "text")


@pytest.mark.django_db
def test_records_may_refer_to_stored_ones():
    run(EXAMPLE[:24])  # places, people, roles, classes
    summary = run(EXAMPLE[24:])
    assert summary.created["chat"] == 5
    assert summary.created["message"] == 25
    assert report() == EXPECTED_W47


# Export


def exported(**scope: str) -> list[dict]:
    out = io.StringIO()
    organizations = resolve_scope(kinds=ALL_KINDS, **scope).organizations() if scope else None
    export_activity(out, organizations)
    return [json.loads(line) for line in out.getvalue().splitlines()]


@pytest.mark.django_db
def test_export_then_import_into_an_empty_database_gives_the_same_rows_and_report():
    run(EXAMPLE)
    before, rows, week = snapshot(), counts(), report(ALL_KINDS)
    text = io.StringIO()
    export_activity(text)
    wipe()
    assert set(counts().values()) == {0}
    summary = import_activity(io.BytesIO(text.getvalue().encode()))
    assert summary.created["message"] == 25
    assert snapshot() == before
    assert counts() == rows
    assert report(ALL_KINDS) == week
    assert report() == EXPECTED_W47
    assert tallies.stored() == tallies.recount()
    # And the export of the imported history is the same file.
    again = io.StringIO()
    export_activity(again)
    assert again.getvalue() == text.getvalue()


@pytest.mark.django_db
def test_export_writes_the_format_in_dependency_order_with_utc_times():
    run(EXAMPLE)
    records = exported()
    order = [
        "region",
        "district",
        "org",
        "user",
        "role",
        "class",
        "chat",
        "message",
        "call",
        "call_participant",
    ]
    types = [r["type"] for r in records]
    assert types == sorted(types, key=order.index)
    assert len(records) == len(EXAMPLE)
    m1 = next(r for r in records if r.get("id") == "m1")
    assert m1 == {
        "type": "message",
        "id": "m1",
        "chat": "c1",
        "author": "t1",
        "sent_at": "2026-11-15T17:00:00Z",
        "text": "Доброе утро! (ровно понедельник 00:00 по Красноярску)",
    }
    t3 = next(r for r in records if r["type"] == "role" and r["user"] == "t3")
    assert t3["to"] == "2026-11-18T05:00:00Z"
    c1 = next(r for r in records if r.get("id") == "c1")
    assert sorted(c1["members"]) == ["st1", "t1"]


@pytest.mark.django_db
def test_scoped_export_has_only_the_organization_and_what_refers_to_it():
    run(EXAMPLE)
    records = exported(org="s2")
    by_type: dict[str, list[dict]] = {}
    for record in records:
        by_type.setdefault(record["type"], []).append(record)
    assert [r["id"] for r in by_type["org"]] == ["s2"]
    assert [r["id"] for r in by_type["region"]] == ["r1"]
    assert [r["id"] for r in by_type["district"]] == ["d1"]
    assert [r["id"] for r in by_type["user"]] == ["t2"]
    # t2 teaches in s1 too; that role stays out.
    assert by_type["role"] == [
        {
            "type": "role",
            "user": "t2",
            "org": "s2",
            "role": "teacher",
            "from": "2026-08-31T17:00:00Z",
        }
    ]
    assert [r["id"] for r in by_type["chat"]] == ["c5"]
    assert [r["id"] for r in by_type["message"]] == ["m25"]
    assert "call" not in by_type and "class" not in by_type
    # The slice imports on its own.
    wipe()
    text = "\n".join(json.dumps(r, ensure_ascii=False) for r in records)
    summary = import_activity(io.BytesIO(text.encode()))
    assert summary.created["message"] == 1
    assert len(exported(district="d1")) == len(records)


@pytest.mark.django_db
def test_records_without_external_ids_get_stable_generated_ones(school):
    teacher = make_member(school, "teacher", "Смирнова Елена Викторовна")
    records = exported()
    user = next(r for r in records if r["type"] == "user")
    org = next(r for r in records if r["type"] == "org")
    assert user["id"] == f"parta-user-{teacher.pk}"
    assert org["id"] == f"parta-org-{school.pk}"
    assert next(r for r in records if r["type"] == "role")["user"] == user["id"]
    assert exported() == records


@pytest.mark.django_db
def test_people_of_other_organizations_stay_out_of_a_scoped_export(district):
    school = make_org(district, "Школа", external_id="a")
    other = make_org(district, "Другая", external_id="b")
    make_member(school, "teacher", "Смирнова Елена Викторовна")
    outsider = make_member(other, "teacher", "Орлова Мария Сергеевна")
    users = [r["id"] for r in exported(org="a") if r["type"] == "user"]
    assert f"parta-user-{outsider.pk}" not in users
    assert len(users) == 1


# Commands


@pytest.mark.django_db
def test_commands_import_and_export_files(tmp_path):
    source = DATA / "example-activity.jsonl"
    out = io.StringIO()
    call_command("import_activity", str(source), "--quiet", stdout=out)
    assert "message: новых 25, уже было 0" in out.getvalue()
    target = tmp_path / "out.jsonl"
    call_command("export_activity", str(target), "--org", "s1", stderr=io.StringIO())
    lines = target.read_text(encoding="utf-8").splitlines()
    assert {json.loads(line)["type"] for line in lines} >= {"org", "message", "call"}
    assert all(json.loads(line).get("org") != "s2" for line in lines)
    stdout = io.StringIO()
    call_command("export_activity", "-", "--region", "r1", stdout=stdout, stderr=io.StringIO())
    assert len(stdout.getvalue().splitlines()) == len(EXAMPLE)


@pytest.mark.django_db
def test_import_command_names_the_bad_line(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text("\n".join([*EXAMPLE[:3], '{"type": "org", "id": "x"}']) + "\n", encoding="utf-8")
    with pytest.raises(CommandError, match=r"строка 4, поле «district»"):
        call_command("import_activity", str(bad), "--quiet")
    assert Region.objects.count() == 0
    with pytest.raises(CommandError):
        call_command("import_activity", str(tmp_path / "missing.jsonl"), "--quiet")
    with pytest.raises(CommandError):
        call_command("export_activity", "-", "--org", "nowhere")

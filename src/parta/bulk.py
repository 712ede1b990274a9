"""Inserting many rows fast: executemany (COPY on PostgreSQL) of database-ready values.

bulk_create compiles SQL for every value of every row and costs about 3x more per
row; imports and tally writes insert hundreds of thousands of rows.
"""

import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import connections, router
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Model

# Values of these field types go to the database as they are (str, int, bool, None).
_PLAIN_FIELDS = frozenset(
    (
        "CharField",
        "TextField",
        "BooleanField",
        "IntegerField",
        "BigIntegerField",
        "SmallIntegerField",
        "PositiveIntegerField",
        "PositiveSmallIntegerField",
        "PositiveBigIntegerField",
        "ForeignKey",
    )
)


def time_adapter(connection: BaseDatabaseWrapper) -> Callable[[datetime | None], Any]:
    """The database value of an aware datetime (every time the reader gives is aware).

    For SQLite this is adapt_datetimefield_value without its per-call checks of
    settings and awareness, which cost as much as the rest of a message's insert.
    """
    if connection.vendor != "sqlite" or not settings.USE_TZ:
        return connection.ops.adapt_datetimefield_value
    zone = connection.timezone

    def adapt(value: datetime | None) -> str | None:
        return None if value is None else str(value.astimezone(zone).replace(tzinfo=None))

    return adapt


def insert_rows(
    model: type[Model],
    attnames: Sequence[str],
    rows: Iterable[Sequence[Any]],
    connection: BaseDatabaseWrapper | None = None,
) -> None:
    """INSERT rows of database-ready values for `attnames`; every other column gets its default.

    One executemany (COPY on PostgreSQL): bulk_create compiles SQL for every value and
    costs about 3x more per row. Rows get no pks back; the caller reads them if it needs them.
    `connection` is for a thread writing on another thread's connection (RowsBehind).
    """
    connection = connection or connections[router.db_for_write(model)]
    quote = connection.ops.quote_name
    meta = model._meta
    template = model()
    others = [
        field
        for field in meta.concrete_fields
        if not field.primary_key and field.attname not in attnames
    ]
    column_of = {field.attname: field.column for field in meta.concrete_fields}
    columns = ", ".join(quote(column_of[name]) for name in attnames) + "".join(
        ", " + quote(field.column) for field in others
    )
    defaults = tuple(
        field.get_db_prep_save(field.pre_save(template, add=True), connection) for field in others
    )
    table = quote(meta.db_table)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row((*row, *defaults))
            return
        placeholders = ", ".join(["%s"] * (len(attnames) + len(others)))
        cursor.executemany(
            f"INSERT INTO {table} ({columns}) VALUES ({placeholders})",  # noqa: S608
            [(*row, *defaults) for row in rows],
        )


class RowsBehind:
    """insert_rows that run behind the caller, who goes on reading the next batch meanwhile.

    The rows go in a worker thread on the caller's own connection, so in the same
    transaction; the database works (SQLite and PostgreSQL let go of the GIL while they do)
    while Python parses. One insert at a time. The caller must `wait()` before it touches
    the database again and at the end; `wait()` raises what the worker raised.
    """

    def __init__(self, model: type[Model], attnames: Sequence[str]) -> None:
        self.model, self.attnames = model, attnames
        self.connection = connections[router.db_for_write(model)]
        self._worker: threading.Thread | None = None
        self._error: BaseException | None = None

    def insert(self, rows: list[Sequence[Any]]) -> None:
        self.wait()
        self.connection.ensure_connection()
        self._worker = threading.Thread(
            target=self._insert, args=(rows,), name="rows-behind", daemon=True
        )
        # Django refuses a connection used from a thread other than its own unless told.
        self.connection.inc_thread_sharing()
        self._worker.start()

    def _insert(self, rows: list[Sequence[Any]]) -> None:
        try:
            insert_rows(self.model, self.attnames, rows, self.connection)
        except BaseException as error:  # raised again in the caller's thread by wait()
            self._error = error

    def __enter__(self) -> "RowsBehind":
        return self

    def __exit__(self, exc_type: Any, exc: BaseException | None, traceback: Any) -> None:
        """Never leave the worker writing while the caller's transaction ends."""
        try:
            self.wait()
        except BaseException:
            if exc is None:
                raise
            # The caller's error is already on its way; the worker's came after it.

    def wait(self) -> None:
        if self._worker is not None:
            self._worker.join()
            self._worker = None
            self.connection.dec_thread_sharing()
        if self._error is not None:
            error, self._error = self._error, None
            raise error


def insert_models(model: type[Model], rows: list[Any]) -> None:
    """INSERT unsaved model instances as bulk_create would, through _insert_rows.

    Instances that have an external id get their pks read back.
    """
    if not rows:
        return
    connection = connections[router.db_for_write(model)]
    meta = model._meta
    concrete = [field for field in meta.concrete_fields if not field.primary_key]
    adapt_time = time_adapter(connection)

    def value_of(field: Any) -> Callable[[Any], Any]:
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            return lambda row: field.get_db_prep_save(field.pre_save(row, add=True), connection)
        attname = field.attname
        if field.get_internal_type() == "DateTimeField":
            return lambda row: adapt_time(getattr(row, attname))
        if field.get_internal_type() in _PLAIN_FIELDS:
            return lambda row: getattr(row, attname)
        return lambda row: field.get_db_prep_save(getattr(row, attname), connection)

    values = [value_of(field) for field in concrete]
    insert_rows(
        model,
        [field.attname for field in concrete],
        [tuple(value(row) for value in values) for row in rows],
    )
    if any(field.attname == "external_id" for field in concrete):
        pks = dict(
            model._default_manager.filter(
                external_id__in=[row.external_id for row in rows]
            ).values_list("external_id", "pk")
        )
        for row in rows:
            row.pk = pks[row.external_id]


def _deferred_keys(connection: BaseDatabaseWrapper, which: str, params: list[str]) -> str:
    """PostgreSQL: names of the foreign keys declared INITIALLY DEFERRED (all of Django's)
    that match `which`, quoted and joined for SET CONSTRAINTS; empty when none."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conname FROM pg_constraint WHERE contype = 'f' AND condeferrable "  # noqa: S608
            f"AND condeferred AND ({which}) ORDER BY conname",
            params,
        )
        return ", ".join(connection.ops.quote_name(name) for (name,) in cursor.fetchall())


@contextmanager
def keys_checked_as_rows_go_in(model: type[Model]) -> Iterator[None]:
    """On PostgreSQL, check `model`'s foreign keys with each insert instead of at COMMIT.

    Django declares them DEFERRABLE INITIALLY DEFERRED, so millions of imported rows leave
    millions of checks to the commit, run one after another while nothing else happens.
    Made immediate, they run inside each COPY, on the RowsBehind worker, beside the parsing
    of the next batch. Only these constraints, by name, and deferred again at the end (a
    rollback undoes it by itself). Same checks, same locks: nothing else is touched.
    """
    connection = connections[router.db_for_write(model)]
    if connection.vendor != "postgresql":
        yield
        return
    names = _deferred_keys(connection, "conrelid = %s::regclass", [model._meta.db_table])
    if names:
        with connection.cursor() as cursor:
            cursor.execute(f"SET CONSTRAINTS {names} IMMEDIATE")
    yield
    if names:
        with connection.cursor() as cursor:
            cursor.execute(f"SET CONSTRAINTS {names} DEFERRED")


@contextmanager
def indexes_built_after_load(model: type[Model]) -> Iterator[None]:
    """Fill an empty table without its secondary indexes and build them at the end, in one
    sort each, as pg_restore does, instead of keeping them up row by row.

    Dropping an index locks only this table (exclusively, until the caller's transaction
    ends), so readers of it wait for the load: callers use it on an empty table, which has
    nothing to read yet. The primary key and the unique constraints stay, for lookups
    during the load. Inside the caller's transaction on both databases: a rollback restores
    every index.
    """
    connection = connections[router.db_for_write(model)]
    table = model._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i "
                "JOIN pg_class c ON c.oid = i.indexrelid "
                "WHERE i.indrelid = %s::regclass AND NOT i.indisprimary AND NOT EXISTS "
                "(SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid) "
                "ORDER BY c.relname",
                [table],
            )
        else:
            cursor.execute(
                "SELECT name, sql FROM sqlite_master "
                "WHERE type = 'index' AND tbl_name = %s AND sql IS NOT NULL ORDER BY name",
                [table],
            )
        indexes = cursor.fetchall()
        for name, _definition in indexes:
            cursor.execute(f"DROP INDEX {connection.ops.quote_name(name)}")
    yield
    # PostgreSQL builds no index on a table with checks still pending in the transaction
    # (rows of it or referring to it written earlier): run those checks now.
    pending = (
        _deferred_keys(
            connection, "conrelid = %s::regclass OR confrelid = %s::regclass", [table, table]
        )
        if connection.vendor == "postgresql"
        else ""
    )
    with connection.cursor() as cursor:
        if pending:
            cursor.execute(f"SET CONSTRAINTS {pending} IMMEDIATE")
        for _name, definition in indexes:
            cursor.execute(definition)
        if pending:
            cursor.execute(f"SET CONSTRAINTS {pending} DEFERRED")


def _defer_again(connection: BaseDatabaseWrapper) -> None:
    """Put Django's foreign keys back to deferred after a SET CONSTRAINTS ALL IMMEDIATE."""
    names = _deferred_keys(connection, "connamespace = current_schema()::regnamespace", [])
    if names:
        with connection.cursor() as cursor:
            cursor.execute(f"SET CONSTRAINTS {names} DEFERRED")


@contextmanager
def keys_checked_after_load(model: type[Model]) -> Iterator[None]:
    """PostgreSQL: fill `model`'s table without its foreign keys and add them back at the
    end, checked in one join each, as pg_restore does. For a first load only: dropping a
    foreign key locks the tables it refers to as well (people, organizations...) until the
    caller's transaction ends, so the whole site waits for the load. Inside the caller's
    transaction: a rollback restores the keys.
    """
    connection = connections[router.db_for_write(model)]
    if connection.vendor != "postgresql":
        yield
        return
    table = model._meta.db_table
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = %s::regclass AND contype = 'f' ORDER BY conname",
            [table],
        )
        foreign_keys = cursor.fetchall()
        # Checks still pending on the tables concerned would forbid altering them.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        for name, _definition in foreign_keys:
            cursor.execute(f"ALTER TABLE {quote(table)} DROP CONSTRAINT {quote(name)}")
    _defer_again(connection)
    yield
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        for name, definition in foreign_keys:
            cursor.execute(f"ALTER TABLE {quote(table)} ADD CONSTRAINT {quote(name)} {definition}")
    _defer_again(connection)

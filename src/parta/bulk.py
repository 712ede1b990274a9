"""Inserting many rows fast: executemany (COPY on PostgreSQL) of database-ready values.

bulk_create compiles SQL for every value of every row and costs about 3x more per
row; imports and tally writes insert hundreds of thousands of rows.
"""

from collections.abc import Callable, Iterable, Sequence
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


def insert_rows(model: type[Model], attnames: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """INSERT rows of database-ready values for `attnames`; every other column gets its default.

    One executemany (COPY on PostgreSQL): bulk_create compiles SQL for every value and
    costs about 3x more per row. Rows get no pks back; the caller reads them if it needs them.
    """
    connection = connections[router.db_for_write(model)]
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

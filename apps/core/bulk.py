"""Inserting many rows at once, as the nightly jobs do."""

import functools
import json

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, models, transaction


def rows_insert(
    model: type[models.Model],
    rows: list[dict],
    *,
    returning: tuple[str, ...] = ("pk",),
    provided: tuple[str, list] | None = None,
) -> list:
    """Insert `rows` ({field name: value}; fields left out take Django's defaults) in one
    statement; returns each new row's `returning` fields (its id, by default), a value per
    row for one field, a tuple for several.

    `provided` is an `UPDATE … RETURNING` (SQL and parameters) that runs first in the same
    statement: the rows go in only if it changed a row, and if the insert fails its change
    is undone too. A conditional update of a hot row (a coupon's stock) that way holds the
    row's lock only while the database inserts and commits, never across a round trip.

    On PostgreSQL the rows travel as one JSON document unpacked by the database: psycopg
    quotes every parameter in Python, which for thousands of rows costs more than the
    insert itself. Elsewhere (the embedded SQLite) it is Django's bulk_create, after the
    `provided` update in the same transaction."""
    if not rows:
        return []
    if connection.vendor != "postgresql":
        return _rows_insert_elsewhere(model, rows, returning, provided)
    fields, left_out, columns, shapes = _layout(model, tuple(rows[0]))
    defaults = [field.get_default() for field in left_out]
    document = json.dumps(
        [
            {
                field.column: value
                for field, value in zip(fields, [*row.values(), *defaults], strict=True)
            }
            for row in rows
        ],
        cls=DjangoJSONEncoder,
    )
    quote = connection.ops.quote_name
    back = ", ".join(
        quote(model._meta.pk.column if name == "pk" else model._meta.get_field(name).column)
        for name in returning
    )
    guard, guard_params = provided or ("", [])
    with connection.cursor() as cursor:
        cursor.execute(
            (f"WITH provided AS ({guard}) " if guard else "")
            + f"INSERT INTO {quote(model._meta.db_table)} ({columns}) SELECT {columns} "
            f"FROM jsonb_to_recordset(%s::jsonb) AS x({shapes}) "
            + ("WHERE EXISTS (SELECT FROM provided) " if guard else "")
            + f"RETURNING {back}",
            [*guard_params, document],
        )
        made = cursor.fetchall()
    return [row[0] for row in made] if len(returning) == 1 else made


def model_row(instance: models.Model) -> dict:
    """An unsaved model instance as a row for rows_insert (every field but the key)."""
    return {
        field.attname: getattr(instance, field.attname)
        for field in instance._meta.concrete_fields
        if not field.primary_key
    }


def inserted(instance: models.Model, made: list):
    """The instance, now that rows_insert put it in as the one row of `made`."""
    (instance.pk,) = made
    instance._state.adding = False
    return instance


@functools.cache
def _layout(model, names: tuple[str, ...]):
    """The fields of a row with these names, then the fields that take their defaults, and
    the SQL lists of their columns and of their columns with types."""
    given = {model._meta.get_field(name).attname for name in names}
    left_out = [
        field
        for field in model._meta.concrete_fields
        if not field.primary_key and field.attname not in given
    ]
    fields = [model._meta.get_field(name) for name in names] + left_out
    quote = connection.ops.quote_name
    columns = ", ".join(quote(field.column) for field in fields)
    shapes = ", ".join(f"{quote(field.column)} {field.db_type(connection)}" for field in fields)
    return fields, left_out, columns, shapes


def _rows_insert_elsewhere(model, rows, returning, provided) -> list:
    with transaction.atomic():
        if provided:
            with connection.cursor() as cursor:
                cursor.execute(*provided)
                if not cursor.fetchall():
                    return []
        made = model.objects.bulk_create(model(**row) for row in rows)
    picked = [tuple(getattr(one, name) for name in returning) for one in made]
    return [row[0] for row in picked] if len(returning) == 1 else picked

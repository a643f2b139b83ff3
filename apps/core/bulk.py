"""Inserting many rows at once, as the nightly jobs do, and planning the statements of a job
that grows the tables it reads."""

import datetime
import functools
from typing import NamedTuple

from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, connection, connections, models, transaction

from apps.core.rows import database_for_write


def rows_insert(
    model: type[models.Model],
    rows: list[dict],
    *,
    returning: tuple[str, ...] = ("pk",),
    ignore_conflicts: bool = False,
) -> list:
    """Insert `rows` ({field name: value}; fields left out take Django's defaults) in one
    statement; returns each new row's `returning` fields (its id, by default), a value per
    row for one field, a tuple for several. With `ignore_conflicts`, a row whose values a
    unique constraint already holds is left out, and so is it from what is returned.

    On PostgreSQL the rows travel as one JSON document unpacked by the database (the
    defaults of the fields they leave out as another, once): psycopg quotes every parameter
    in Python, which for thousands of rows costs more than the insert itself. Elsewhere (the
    embedded SQLite) it is Django's bulk_create."""
    if not rows:
        return []
    database = connections[database_for_write(model)]
    if database.vendor != "postgresql":
        return _rows_insert_elsewhere(model, rows, returning, database.alias, ignore_conflicts)
    layout = _layout(model, tuple(rows[0]))
    encoder = _SharedValuesEncoder()
    if layout.renamed:
        rows = [dict(zip(layout.given_columns, row.values(), strict=True)) for row in rows]
    quote = database.ops.quote_name
    back = ", ".join(
        quote(model._meta.pk.column if name == "pk" else model._meta.get_field(name).column)
        for name in returning
    )
    sources = f"jsonb_to_recordset(%s::jsonb) AS x({layout.shapes})"
    params = [encoder.encode(rows)]
    if layout.left_out:  # their defaults, once for all the rows
        sources += f" CROSS JOIN jsonb_to_record(%s::jsonb) AS d({layout.default_shapes})"
        params.append(encoder.encode({f.column: f.get_default() for f in layout.left_out}))
    with database.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {quote(model._meta.db_table)} ({layout.columns}) "
            f"SELECT {layout.columns} FROM {sources}"
            + (" ON CONFLICT DO NOTHING" if ignore_conflicts else "")
            + f" RETURNING {back}",
            params,
        )
        made = cursor.fetchall()
    return [row[0] for row in made] if len(returning) == 1 else made


class _SharedValuesEncoder(DjangoJSONEncoder):
    """Rows of one batch share their values (its moment, most of all): each value object is
    encoded once, not once per row."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._encoded = {}

    def default(self, o):
        if (seen := self._encoded.get(id(o))) is None:
            # to the microsecond, as the column keeps it (Django's encoder stops at the
            # millisecond)
            text = o.isoformat() if isinstance(o, datetime.datetime) else super().default(o)
            # `o` is kept with its text so that no other object can take its id meanwhile
            seen = self._encoded[id(o)] = (o, text)
        return seen[1]


class _Layout(NamedTuple):
    given_columns: list[str]
    left_out: list[models.Field]
    columns: str  # SQL: the given columns, then those left to their defaults
    shapes: str  # SQL: the given columns with their types
    default_shapes: str
    renamed: bool  # some row key is a field name, not its column


@functools.cache
def _layout(model, names: tuple[str, ...]) -> _Layout:
    """How rows with these keys go in: as a JSON document of the rows as they are (keyed by
    their columns), and one of the defaults of the fields they leave out."""
    given = [model._meta.get_field(name) for name in names]
    attnames = {field.attname for field in given}
    left_out = [
        field
        for field in model._meta.concrete_fields
        if not field.primary_key and field.attname not in attnames
    ]
    quote = connection.ops.quote_name

    def typed(fields):
        return ", ".join(f"{quote(field.column)} {field.db_type(connection)}" for field in fields)

    return _Layout(
        given_columns=[field.column for field in given],
        left_out=left_out,
        columns=", ".join(quote(field.column) for field in given + left_out),
        shapes=typed(given),
        default_shapes=typed(left_out),
        renamed=any(name != field.column for name, field in zip(names, given, strict=True)),
    )


def _rows_insert_elsewhere(model, rows, returning, using: str, ignore_conflicts: bool) -> list:
    if ignore_conflicts:  # one at a time, to know which went in
        made = []
        for row in rows:
            try:
                with transaction.atomic(using=using):
                    made.append(model.objects.using(using).create(**row))
            except IntegrityError:
                continue
    else:
        made = model.objects.using(using).bulk_create(model(**row) for row in rows)
    picked = [tuple(getattr(one, name) for name in returning) for one in made]
    return [row[0] for row in picked] if len(returning) == 1 else picked


def custom_plans() -> None:
    """For the rest of this transaction, PostgreSQL plans each statement for its own values
    rather than reusing a prepared statement's generic plan. A job that grows the tables it
    reads as it goes (a member import) would otherwise keep the plan made while they were
    small, a scan of the whole table, and each chunk would take longer than the last: 100,000
    rows took 171 s, 50,000 took 46 s and 20,000 took 11 s."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL plan_cache_mode = force_custom_plan")

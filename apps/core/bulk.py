"""Inserting many rows at once, as the nightly jobs do."""

import json

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, models


def rows_insert(
    model: type[models.Model], rows: list[dict], *, returning: tuple[str, ...] = ("pk",)
) -> list:
    """Insert `rows` ({field name: value}; fields left out take Django's defaults) in one
    statement; returns each new row's `returning` fields (its id, by default), a value per
    row for one field, a tuple for several.

    On PostgreSQL the rows travel as one JSON document unpacked by the database: psycopg
    quotes every parameter in Python, which for thousands of rows costs more than the
    insert itself. Elsewhere (the embedded SQLite) it is Django's bulk_create."""
    if not rows:
        return []
    if connection.vendor != "postgresql":
        made = model.objects.bulk_create(model(**row) for row in rows)
        picked = [tuple(getattr(one, name) for name in returning) for one in made]
        return [row[0] for row in picked] if len(returning) == 1 else picked
    given = {model._meta.get_field(name).attname for name in rows[0]}
    defaults = {
        field.attname: field.get_default()
        for field in model._meta.concrete_fields
        if not field.primary_key and field.attname not in given
    }
    fields = [model._meta.get_field(name) for name in [*rows[0], *defaults]]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(field.column) for field in fields)
    shapes = ", ".join(f"{quote(field.column)} {field.db_type(connection)}" for field in fields)
    document = json.dumps(
        [
            {
                field.column: value
                for field, value in zip(fields, [*row.values(), *defaults.values()], strict=True)
            }
            for row in rows
        ],
        cls=DjangoJSONEncoder,
    )
    back = ", ".join(
        quote(model._meta.pk.column if name == "pk" else model._meta.get_field(name).column)
        for name in returning
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {quote(model._meta.db_table)} ({columns}) SELECT {columns} "
            f"FROM jsonb_to_recordset(%s::jsonb) AS x({shapes}) RETURNING {back}",
            [document],
        )
        made = cursor.fetchall()
    return [row[0] for row in made] if len(returning) == 1 else made

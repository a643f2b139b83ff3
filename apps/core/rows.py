"""Model instances built straight from the row of a hand-written query, for the lookups
that every API request makes (who is calling). Compiling the ORM's query for them, or
matching a raw query's columns to fields, took longer than the database took to answer."""

import functools
import weakref

from django.db import DEFAULT_DB_ALIAS, connections, models

# Per database connection and model: what turns the raw values into the fields' (nothing on
# PostgreSQL; dates and booleans on SQLite).
_converters = weakref.WeakKeyDictionary()


def columns(model: type[models.Model], alias: str) -> str:
    """The model's columns for a SELECT, in the order `instance` reads them."""
    return ", ".join(f'{alias}."{field.column}"' for field in model._meta.concrete_fields)


def row_one(sql: str, params: list) -> tuple | None:
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()


def instance(model: type[models.Model], values) -> models.Model:
    """The instance whose `columns` a row holds in `values`, as the ORM would have built it."""
    database = connections[DEFAULT_DB_ALIAS]  # this thread's connection
    values = list(values)
    for index, (functions, expression) in _model_converters(model, database).items():
        for convert in functions:
            values[index] = convert(values[index], expression, database)
    return model.from_db(database.alias, _attnames(model), values)


@functools.cache
def _attnames(model: type[models.Model]) -> list[str]:
    return [field.attname for field in model._meta.concrete_fields]


def _model_converters(model: type[models.Model], database) -> dict:
    known = _converters.setdefault(database, {})
    if (found := known.get(model)) is None:
        compiler = model.objects.none().query.get_compiler(connection=database)
        fields = [field.get_col(model._meta.db_table) for field in model._meta.concrete_fields]
        found = known[model] = compiler.get_converters(fields)
    return found

"""Hand-written single-row statements for what every API request or checkout does (who is
calling, the rows a sale writes). Compiling the ORM's query for them, or matching a raw
query's columns to fields, took longer than the database took to answer.

Model instances are built straight from a query's row; one new row goes in by
`row_insert`, which can also leave a row alone whose unique values are taken (no
savepoint, no error to recover from), or go in only if a conditional update of another
row succeeds in the same statement."""

import functools
import weakref

from django.db import DEFAULT_DB_ALIAS, connections, models, transaction

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


def rows_all(sql: str, params: list) -> list[tuple]:
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


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


def row_insert(
    obj: models.Model, *, unless_taken: bool = False, provided: tuple[str, list] | None = None
) -> bool:
    """Insert the unsaved `obj` in one statement and set its key, as `save()` would (auto_now
    fields filled in). With `unless_taken`, a row whose unique values another row holds is
    not inserted and False comes back; one that a running transaction is inserting waits
    for it, as the unique index makes every insert wait.

    `provided` is an `UPDATE … RETURNING` (SQL and parameters) that runs first in the same
    statement, as in `apps.core.bulk.rows_insert`: the row goes in only if it changed a row
    (else False), and if the insert fails its change is undone too. It cannot be combined
    with `unless_taken`, which would keep the change of a row left out."""
    if provided and unless_taken:
        raise ValueError("a provided update would stand for a row left out")
    database = connections[DEFAULT_DB_ALIAS]
    model = type(obj)
    guarded = bool(provided) and database.vendor == "postgresql"
    sql, fields = _insert(model, unless_taken, guarded)
    params = [field.get_db_prep_save(field.pre_save(obj, True), database) for field in fields]
    if guarded:
        guard, guard_params = provided
        made = row_one(f"WITH provided AS ({guard}) {sql}", [*guard_params, *params])
    elif provided:  # SQLite: the update, then the insert, in a transaction of their own
        with transaction.atomic(using=database.alias):
            if row_one(*provided) is None:
                return False
            made = row_one(sql, params)
    else:
        made = row_one(sql, params)
    if made is None:
        return False
    obj.pk = made[0]
    obj._state.adding, obj._state.db = False, database.alias
    return True


def row_update(obj: models.Model, *fields: str) -> None:
    """Save these fields of `obj`, which is in the database, in one statement."""
    database = connections[DEFAULT_DB_ALIAS]
    model = type(obj)
    chosen = [model._meta.get_field(name) for name in fields]
    sets = ", ".join(f'"{field.column}" = %s' for field in chosen)
    params = [field.get_db_prep_save(getattr(obj, field.attname), database) for field in chosen]
    with database.cursor() as cursor:
        cursor.execute(
            f'UPDATE "{model._meta.db_table}" SET {sets} WHERE "{model._meta.pk.column}" = %s',
            [*params, obj.pk],
        )


@functools.cache
def _insert(model: type[models.Model], unless_taken: bool, guarded: bool) -> tuple[str, list]:
    # every column but a key the database makes (a one-to-one key is given)
    fields = [f for f in model._meta.concrete_fields if not isinstance(f, models.AutoField)]
    names = ", ".join(f'"{field.column}"' for field in fields)
    values = ", ".join(["%s"] * len(fields))
    if guarded:  # after the caller's WITH provided AS (…)
        rows = f"SELECT {values} WHERE EXISTS (SELECT FROM provided)"
    else:
        rows = f"VALUES ({values})"
    conflict = " ON CONFLICT DO NOTHING" if unless_taken else ""
    return (
        f'INSERT INTO "{model._meta.db_table}" ({names}) {rows}{conflict} '
        f'RETURNING "{model._meta.pk.column}"',
        fields,
    )


def text_replace(
    model: type[models.Model], *, fields: tuple[str, ...], key: str, keys: list, old: str, new: str
) -> None:
    """In the rows whose `key` is one of `keys`, `old` becomes `new` in the text `fields`."""
    column = model._meta.get_field
    sets = ", ".join(
        f'"{column(name).column}" = replace("{column(name).column}", %s, %s)' for name in fields
    )
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute(
            f'UPDATE "{model._meta.db_table}" SET {sets} '
            f'WHERE "{column(key).column}" IN ({", ".join(["%s"] * len(keys))})',
            [*[old, new] * len(fields), *keys],
        )

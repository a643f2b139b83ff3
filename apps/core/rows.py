"""Single-row statements written by hand, for what every API request or checkout does (who is
calling, the rows a sale writes). Compiling the ORM's query for them, or matching a raw
query's columns to fields, took longer than the database took to answer.

The statements themselves live in the app that owns the table, behind a named function;
what they share is here, taking models and fields, never SQL: which database a model is
read from or written to (the router's choice), a model's columns for a SELECT and the
instance built from such a row, one object's INSERT (which may leave alone a row whose
values a named unique constraint already holds, or go in only if the statement's own
`WITH` query changed a row) and an UPDATE of some of its fields."""

import functools
import weakref
from typing import NamedTuple

from django.db import connections, models, router
from django.db.models.sql import Query

# Per database connection and model: what turns the raw values into the fields' (nothing on
# PostgreSQL; dates and booleans on SQLite).
_converters = weakref.WeakKeyDictionary()


def database_for_write(model: type[models.Model]) -> str:
    return router.db_for_write(model)


def database_for_read(model: type[models.Model]) -> str:
    """The router's database for reading `model`; but inside a transaction on the database
    it is written to, that one, which sees what the transaction wrote (a replica does not)."""
    written = router.db_for_write(model)
    if connections[written].in_atomic_block:
        return written
    return router.db_for_read(model)


def table(model: type[models.Model]) -> str:
    return f'"{model._meta.db_table}"'


def column(model: type[models.Model], name: str) -> str:
    """The column of the field called `name` ("pk" for the key), quoted for a statement."""
    field = model._meta.pk if name == "pk" else model._meta.get_field(name)
    return f'"{field.column}"'


def columns(model: type[models.Model], alias: str) -> str:
    """The model's columns for a SELECT, in the order `instance` reads them."""
    return ", ".join(f'{alias}."{field.column}"' for field in model._meta.concrete_fields)


def instance(model: type[models.Model], values, using: str) -> models.Model:
    """The instance whose `columns` a row read from database `using` holds in `values`, as
    the ORM would have built it."""
    database = connections[using]  # this thread's connection
    values = list(values)
    for index, (functions, expression) in _model_converters(model, database).items():
        for convert in functions:
            values[index] = convert(values[index], expression, database)
    return model.from_db(using, _attnames(model), values)


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


class Insert(NamedTuple):
    """A model's INSERT of one object, returning its key: `sql`, then `params(obj)` for it."""

    sql: str
    fields: tuple[models.Field, ...]
    using: str

    def params(self, obj: models.Model) -> list:
        database = connections[self.using]
        return [
            field.get_db_prep_save(field.pre_save(obj, True), database) for field in self.fields
        ]

    def saved(self, obj: models.Model, made: tuple | None) -> bool:
        """Set the key the statement returned (`made`, its row) on `obj`, as `save()` would."""
        if made is None:
            return False
        obj.pk = made[0]
        obj._state.adding, obj._state.db = False, self.using
        return True


def insert_statement(
    model: type[models.Model], *, unless_taken: str | None = None, only_if: str | None = None
) -> Insert:
    """The INSERT of one `model` object on the router's database. With `unless_taken` (the
    name of a unique constraint of the model, or of a unique field), a row whose values
    another row holds there is left out and no row comes back; any other unique violation
    raises. With `only_if`, the name of a `WITH` query that the statement's owner puts
    before it, the row goes in only if that query returned a row."""
    using = database_for_write(model)
    return _insert(model, connections[using].vendor, unless_taken, only_if)._replace(using=using)


def row_insert(obj: models.Model, *, unless_taken: str | None = None) -> bool:
    """Insert the unsaved `obj` in one statement and set its key, as `save()` would (auto_now
    fields filled in). With `unless_taken` (a unique constraint's or field's name), a row
    whose values another row holds there is not inserted and False comes back; one that a
    running transaction is inserting waits for it, as the unique index makes every insert
    wait. No savepoint, and no error to recover from."""
    insert = insert_statement(type(obj), unless_taken=unless_taken)
    with connections[insert.using].cursor() as cursor:
        cursor.execute(insert.sql, insert.params(obj))
        return insert.saved(obj, cursor.fetchone())


def row_update(obj: models.Model, *fields: str) -> None:
    """Save these fields of `obj`, which is in the database, in one statement."""
    model = type(obj)
    database = connections[database_for_write(model)]
    chosen = [model._meta.get_field(name) for name in fields]
    params = [field.get_db_prep_save(getattr(obj, field.attname), database) for field in chosen]
    with database.cursor() as cursor:
        cursor.execute(_update(model, tuple(fields)), [*params, obj.pk])


@functools.cache
def _update(model: type[models.Model], fields: tuple[str, ...]) -> str:
    sets = ", ".join(f'"{model._meta.get_field(name).column}" = %s' for name in fields)
    return f'UPDATE "{model._meta.db_table}" SET {sets} WHERE "{model._meta.pk.column}" = %s'


@functools.cache
def _insert(
    model: type[models.Model], vendor: str, unless_taken: str | None, only_if: str | None
) -> Insert:
    # every column but a key the database makes (a one-to-one key is given)
    fields = tuple(f for f in model._meta.concrete_fields if not isinstance(f, models.AutoField))
    names = ", ".join(f'"{field.column}"' for field in fields)
    values = ", ".join(["%s"] * len(fields))
    if only_if:
        rows = f"SELECT {values} WHERE EXISTS (SELECT FROM {only_if})"
    else:
        rows = f"VALUES ({values})"
    conflict = (
        f" ON CONFLICT {_conflict_target(model, unless_taken)} DO NOTHING" if unless_taken else ""
    )
    sql = (
        f'INSERT INTO "{model._meta.db_table}" ({names}) {rows}{conflict} '
        f'RETURNING "{model._meta.pk.column}"'
    )
    return Insert(sql, fields, using="")


def _conflict_target(model: type[models.Model], name: str) -> str:
    """The columns (and, for a partial unique index, its condition) of the unique constraint
    or unique field called `name`: what ON CONFLICT names so that only it is let pass."""
    meta = model._meta
    constraint = next(
        (c for c in meta.constraints if isinstance(c, models.UniqueConstraint) and c.name == name),
        None,
    )
    if constraint is None:
        field = meta.get_field(name)
        if not field.unique:
            raise ValueError(f"{meta.label}.{name} is neither unique nor a unique constraint")
        return f'("{field.column}")'
    if constraint.expressions or not constraint.fields:
        raise ValueError(f"{meta.label}'s {name} is not a constraint over fields")
    target = ", ".join(f'"{meta.get_field(field).column}"' for field in constraint.fields)
    if constraint.condition is None:
        return f"({target})"
    return f"({target}) WHERE {_condition(model, constraint.condition)}"


def _condition(model: type[models.Model], condition) -> str:
    """A partial index's condition as SQL with its values written in, as its migration
    wrote it: the database matches the index by it, which a parameter would not let it."""
    query = Query(model=model, alias_cols=False)
    where = query.build_where(condition)
    connection = connections[database_for_write(model)]
    sql, params = where.as_sql(query.get_compiler(connection=connection), connection)
    connection.ensure_connection()  # values are quoted by the driver's connection
    editor = connection.schema_editor()
    return sql % tuple(editor.quote_value(param) for param in params)

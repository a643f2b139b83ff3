"""The one hint Huiji gives PostgreSQL's planner, for the statement a benchmark proved needs
it (bench.campaign): a keyset read over a subquery on members joined by nested loops."""

import contextlib

from django.db import connections, transaction

_JOINS = ["enable_mergejoin", "enable_hashjoin"]


@contextlib.contextmanager
def joins_by_nested_loops(using: str):
    """Within the block, the planner on database `using` joins by nested loops only (SET
    LOCAL, in the caller's transaction or one of its own); after it, as it was before (SET
    LOCAL … TO DEFAULT). Nothing on other databases."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        yield
        return
    with transaction.atomic(using=using, savepoint=False), connection.cursor() as cursor:
        cursor.execute(
            "SELECT set_config(name, 'off', true) FROM pg_settings WHERE name = ANY(%s)", [_JOINS]
        )
        yield
        cursor.execute(
            "SELECT set_config(name, reset_val, true) FROM pg_settings WHERE name = ANY(%s)",
            [_JOINS],
        )

"""Transactions whose commit need not wait for the disk."""

import contextlib

from django.db import connections, transaction


@contextlib.contextmanager
def committed_without_waiting(using: str):
    """A transaction of its own on database `using`, with its cursor, whose commit does not
    wait for the WAL to reach the disk (SET LOCAL, so a pooler's next client never inherits
    it). For a write that the caller's own synchronous commit, on the same server and later,
    makes durable anyway: PostgreSQL flushes the WAL in order. A plain transaction on other
    databases."""
    connection = connections[using]
    if connection.in_atomic_block:
        raise RuntimeError(f"committed_without_waiting needs {using!r} outside a transaction")
    with transaction.atomic(using=using), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL synchronous_commit TO OFF")
        yield cursor

"""Tasks sent once a transaction commits. The work is already in the database by then, so a
broker that cannot be reached must not turn a committed order or refund into an error
answer (a till would retry it, a member would pay again): the failure is logged, and the
work waits in the database for the job that sweeps it (README.md, "Operations"). A job a
sweep may send again while it still runs (a batch, an import) runs `alone`."""

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import DatabaseError, connection
from kombu.exceptions import KombuError, OperationalError
from redis import RedisError

logger = logging.getLogger(__name__)


def enqueue(task, *args) -> bool:
    """`task.delay(*args)`; False, logged, when the broker is gone."""
    try:
        task.delay(*args)
    except (OperationalError, KombuError, RedisError, OSError) as exc:
        logger.error("Could not send %s%r to the broker: %s", task.name, args, exc)
        return False
    return True


@contextmanager
def alone(job: str, pk: int) -> Iterator[bool]:
    """Whether no other process runs `job` for `pk`: a PostgreSQL advisory lock this
    connection holds until the block ends. A worker killed mid-job loses its connection and
    with it the lock, so the job a sweep sends again runs at once; one sent while the job
    still runs elsewhere is told False and returns."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(hashtext(%s), %s)", [job, pk])
        [held] = cursor.fetchone()
    try:
        yield held
    finally:
        if held:
            try:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_unlock(hashtext(%s), %s)", [job, pk])
            except DatabaseError:
                pass  # the connection broke, and the lock went with it

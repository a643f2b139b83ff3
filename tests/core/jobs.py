"""For tests of the jobs a sweep sends again: the broker down when a task is sent, and a job
another worker is running."""

from contextlib import contextmanager

import psycopg
import pytest
from django.db import connection
from kombu.exceptions import OperationalError


@contextmanager
def broker_down(*tasks):
    """Sending any of `tasks` fails as it does while Redis is stopped."""

    def refuse(*args):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    with pytest.MonkeyPatch.context() as patch:
        for task in tasks:
            patch.setattr(task, "delay", refuse)
        yield


@contextmanager
def run_elsewhere(job: str, pk: int):
    """Another worker runs `job` for `pk` meanwhile: it holds the job's lock
    (apps.core.queue.alone) on its own connection."""
    db = connection.settings_dict
    with psycopg.connect(
        dbname=db["NAME"],
        user=db["USER"],
        password=db["PASSWORD"],
        host=db["HOST"],
        port=db["PORT"] or None,
    ) as other:
        other.execute("SELECT pg_advisory_lock(hashtext(%s), %s)", [job, pk])
        yield

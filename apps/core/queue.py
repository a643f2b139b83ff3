"""Tasks sent once a transaction commits. The work is already in the database by then, so a
broker that cannot be reached must not turn a committed order or refund into an error
answer (a till would retry it, a member would pay again): the failure is logged, and the
work waits in the database for the job that sweeps it (README.md, "Operations")."""

import logging

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

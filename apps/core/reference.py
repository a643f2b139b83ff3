"""Reference data that every checkout reads and HQ seldom changes (tiers, earning rules).

It is kept in the cache for REFERENCE_CACHE_SECONDS, so a busy till does not read the
same rows on every sale; the console forgets it when HQ saves a change (after the commit,
so that nobody caches the old rows again in between). Another process may serve the old
rows until they expire: a change takes effect within those seconds everywhere.

Each process also holds what it read for HELD_SECONDS (`held`): the cache unpickles a
fresh copy on every read, which on the hottest paths (a flash drop's template, a sale's
tiers and rules) cost more than the rest of the read. Whoever reads a held value shares
the one object with every request of the process: read it, never change it.
"""

import time
from collections.abc import Callable
from typing import TypeVar

from django.conf import settings
from django.core.cache import cache
from django.db import transaction

T = TypeVar("T")


HELD_SECONDS = 1.0
_held: dict[str, tuple[float, object]] = {}  # key → (until, value), in this process


def held(key: str, load: Callable[[], T]) -> T:
    """`load()`, kept in this process for HELD_SECONDS (a None is not kept)."""
    now = time.monotonic()
    found = _held.get(key)
    if found is not None and found[0] > now:
        return found[1]
    value = load()
    if value is not None:
        _held[key] = (now + HELD_SECONDS, value)
    return value


def held_forget(*keys: str) -> None:
    """This process reads these afresh; the others within HELD_SECONDS."""
    for key in keys:
        _held.pop(key, None)


def held_clear() -> None:
    _held.clear()


def _key(name: str) -> str:
    return f"reference:{name}"


def reference_get(name: str, load: Callable[[], T]) -> T:
    return held(_key(name), lambda: _shared(name, load))


def _shared(name: str, load: Callable[[], T]) -> T:
    value = cache.get(_key(name))
    if value is None:
        value = load()
        cache.set(_key(name), value, settings.REFERENCE_CACHE_SECONDS)
    return value


def reference_forget(*names: str) -> None:
    if names:
        keys = [_key(name) for name in names]

        def forget():
            cache.delete_many(keys)
            held_forget(*keys)

        transaction.on_commit(forget)

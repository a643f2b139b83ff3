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

import contextlib
import time
from collections.abc import Callable
from typing import TypeVar

from django.conf import settings
from django.core.cache import cache
from django.db import transaction

from apps.core.counters import CACHE_DOWN

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
    return shared(_key(name), load, settings.REFERENCE_CACHE_SECONDS)


def shared(key: str, load: Callable[[], T], seconds: int) -> T:
    """`load()`, kept in the shared cache for `seconds` (a None is not kept). While Redis is
    gone, each call loads it from the database: slower, never wrong or refused."""
    try:
        value = cache.get(key)
    except CACHE_DOWN:
        return load()
    if value is None:
        value = load()
        if value is not None:
            with contextlib.suppress(*CACHE_DOWN):
                cache.set(key, value, seconds)
    return value


def reference_forget(*names: str) -> None:
    if names:
        keys = [_key(name) for name in names]

        def forget():
            # With Redis gone there is nothing to forget there; it may come back with the
            # old rows, which expire within REFERENCE_CACHE_SECONDS.
            with contextlib.suppress(*CACHE_DOWN):
                cache.delete_many(keys)
            held_forget(*keys)

        transaction.on_commit(forget)

"""Reference data that every checkout reads and HQ seldom changes (tiers, earning rules).

It is kept in the cache for REFERENCE_CACHE_SECONDS, so a busy till does not read the
same rows on every sale; the console forgets it when HQ saves a change (after the commit,
so that nobody caches the old rows again in between). Another process may serve the old
rows until they expire: a change takes effect within those seconds everywhere.
"""

from collections.abc import Callable
from typing import TypeVar

from django.conf import settings
from django.core.cache import cache
from django.db import transaction

T = TypeVar("T")


def _key(name: str) -> str:
    return f"reference:{name}"


def reference_get(name: str, load: Callable[[], T]) -> T:
    value = cache.get(_key(name))
    if value is None:
        value = load()
        cache.set(_key(name), value, settings.REFERENCE_CACHE_SECONDS)
    return value


def reference_forget(*names: str) -> None:
    if names:
        transaction.on_commit(lambda: cache.delete_many([_key(name) for name in names]))

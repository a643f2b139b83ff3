"""Counters in the cache that every process shares (throttles, sign-in tries, texted codes):
each count is one atomic add or increment, which requests at once cannot both slip past and
a rolled-back transaction does not take back."""

import contextlib

import redis
from django.core.cache import cache as default_cache

# What the shared cache raises while Redis cannot be reached (django-redis raises its
# client's own errors).
CACHE_DOWN = (redis.ConnectionError, redis.TimeoutError)


def count_up(key: str, seconds: int, *, first_likely: bool = True, cache=None) -> int:
    """One more at the counter `key`, which lasts `seconds` from its first count; the new
    count. `first_likely`: whether most counts are a counter's first (a member's tap in a
    coupon drop), tried first as an add, or not (a till's sales), tried first as an
    increment: the likelier case is one round trip to the cache."""
    cache = default_cache if cache is None else cache
    if first_likely and cache.add(key, 1, seconds):
        return 1
    try:
        return cache.incr(key)
    except ValueError:  # no counter yet, or it ran out in between
        return 1 if cache.add(key, 1, seconds) else cache.incr(key)


def count_down(key: str, cache=None) -> None:
    """Give back one count (a try that turned out not to count), if the counter is still there."""
    with contextlib.suppress(ValueError):
        (default_cache if cache is None else cache).decr(key)

"""The sold-out answer a claim remembers for a few seconds, so a drop's taps after the
last coupon went are refused without the database. The cache only ever refuses: whether a
coupon is issued is decided by the stock's conditional UPDATE alone."""

from django.core.cache import cache

from apps.core.reference import held, held_forget

SOLD_OUT_SECONDS = 5


def sold_out_key(template_id: int) -> str:
    return f"coupon-sold-out:{template_id}"


def sold_out_remember(template_id: int) -> None:
    cache.set(sold_out_key(template_id), True, SOLD_OUT_SECONDS)
    held_forget(sold_out_key(template_id))


def sold_out_lately(template_id: int) -> bool:
    """Whether a claim found the template sold out in the last SOLD_OUT_SECONDS. Each process
    holds the answer for a second (apps.core.reference `held`), so a drop's claims do not
    each ask the cache: a process that has not heard sends the database at most a second
    of taps, and the first one it refuses tells it."""
    key = sold_out_key(template_id)
    return held(key, lambda: bool(cache.get(key)))

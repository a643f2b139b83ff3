"""Reads of the rollups for HQ."""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from math import inf
from statistics import median

from django.db.models import Q, Sum

from apps.analytics.models import DailyStoreRollup, StoreFlagRule
from apps.stores.models import Store


@dataclass(frozen=True)
class StoreFlag:
    store: Store
    rule: StoreFlagRule
    total: int
    median: Decimal
    first_day: date


def stores_flagged(*, today: date) -> list[StoreFlag]:
    """Stores whose figures stand far outside their peers' (StoreFlagRule), largest first
    against their median. Three queries at most, whatever the number of stores or rules:
    the rules, every store's totals for every rule in one grouped query, the stores flagged.
    """
    rules = list(StoreFlagRule.objects.filter(active=True))
    if not rules:
        return []
    longest = max(rule.days for rule in rules)
    totals = list(
        DailyStoreRollup.objects.filter(day__gt=today - timedelta(days=longest), day__lte=today)
        .values("store")
        .annotate(
            **{
                f"rule_{rule.pk}": Sum(
                    rule.figure, filter=Q(day__gt=today - timedelta(days=rule.days)), default=0
                )
                for rule in rules
            }
        )
        .order_by()
    )
    found = []
    for rule in rules:
        first_day = today - timedelta(days=rule.days - 1)
        # Peers: every store with figures in the days the rules look at, quiet ones included.
        peers = [row[f"rule_{rule.pk}"] for row in totals]
        if not peers:
            continue
        middle = Decimal(median(peers))
        found += [
            (row["store"], rule, row[f"rule_{rule.pk}"], middle, first_day)
            for row in totals
            if row[f"rule_{rule.pk}"] >= rule.min_volume
            and row[f"rule_{rule.pk}"] > rule.multiple * middle
        ]
    stores = Store.objects.in_bulk({store_id for store_id, *_rest in found})
    flags = [StoreFlag(stores[store_id], *rest) for store_id, *rest in found]
    return sorted(flags, key=lambda f: (-(f.total / f.median if f.median else inf), f.store.code))

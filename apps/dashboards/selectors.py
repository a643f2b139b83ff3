"""What a store's overview shows: a fixed number of queries, whatever the store's size.
Sums over days come from the daily rollups; member counts are one grouped query each."""

from datetime import timedelta
from decimal import Decimal

from django.db.models import Count, Q, Sum
from django.utils import timezone

from apps.analytics.models import DailyStoreRollup
from apps.members.models import Member
from apps.orders.models import Order
from apps.stores.models import Store
from apps.tiers.models import Tier


def store_overview(store: Store, *, now=None) -> dict:
    now = now or timezone.now()
    today = timezone.localdate(now)
    members = Member.objects.filter(home_store=store, status=Member.Status.ACTIVE)
    counts = members.aggregate(
        total=Count("pk"),
        active_30=Count("pk", filter=Q(last_active_at__gte=now - timedelta(days=30))),
        dormant_90=Count(
            "pk",
            filter=Q(last_active_at__lt=now - timedelta(days=90))
            | Q(last_active_at__isnull=True, joined_at__lt=now - timedelta(days=90)),
        ),
    )
    rollups = DailyStoreRollup.objects.filter(store=store, day__gt=today - timedelta(days=90))
    week_start = today - timedelta(days=today.weekday())

    def since(day):
        return Q(day__gte=day)

    sums = rollups.aggregate(
        new_today=Sum("new_members", filter=Q(day=today), default=0),
        new_week=Sum("new_members", filter=since(week_start), default=0),
        new_month=Sum("new_members", filter=since(today.replace(day=1)), default=0),
        **{
            f"{name}_30": Sum(name, filter=since(today - timedelta(days=29)), default=0)
            for name in (
                "visits",
                "orders",
                "member_orders",
                "sales",
                "member_sales",
                "coupons_used",
                "coupon_sales",
                "points_issued",
                "points_redeemed",
            )
        },
    )
    trend = list(rollups.order_by("day").values("day", "sales", "member_sales", "new_members"))
    return {
        "members": counts,
        "new": {key: sums[f"new_{key}"] for key in ("today", "week", "month")},
        "last_30": {key[:-3]: value for key, value in sums.items() if key.endswith("_30")},
        "member_share": _share(sums["member_sales_30"], sums["sales_30"]),
        "aov_members": _average(sums["member_sales_30"], sums["member_orders_30"]),
        "aov_others": _average(
            sums["sales_30"] - sums["member_sales_30"],
            sums["orders_30"] - sums["member_orders_30"],
        ),
        "repurchase": _repurchase(store, now),
        "tiers": _tier_distribution(members),
        "trend": _trend(trend, today),
    }


def _share(part, whole) -> Decimal | None:
    return (Decimal(part) / Decimal(whole) * 100).quantize(Decimal("0.1")) if whole else None


def _average(total, count) -> Decimal | None:
    return (Decimal(total) / count).quantize(Decimal("0.01")) if count else None


def _repurchase(store: Store, now) -> Decimal | None:
    """Of the members who bought here in the last 90 days, the share who bought twice or more."""
    buyers = (
        Order.objects.filter(
            store=store, member__isnull=False, paid_at__gte=now - timedelta(days=90)
        )
        .values("member")
        .annotate(n=Count("pk"))
        .aggregate(buyers=Count("member"), again=Count("member", filter=Q(n__gte=2)))
    )
    return _share(buyers["again"], buyers["buyers"])


def _tier_distribution(members) -> list[dict]:
    tiers = list(Tier.objects.order_by("rank"))
    held = dict(members.values_list("tier_state__tier").annotate(n=Count("pk")))
    rows = []
    for n, tier in enumerate(tiers):
        count = held.get(tier.pk, 0) + (held.get(None, 0) if n == 0 else 0)
        rows.append({"name": tier.name, "count": count})
    total = sum(row["count"] for row in rows) or 1
    for row in rows:
        row["percent"] = round(row["count"] * 100 / total)
    return rows


def _trend(rows: list[dict], today) -> list[dict]:
    """The last 30 days' sales, every day present (a day without sales shows as 0)."""
    by_day = {row["day"]: row for row in rows}
    days = [today - timedelta(days=n) for n in range(29, -1, -1)]
    sales = [by_day[day]["sales"] if day in by_day else Decimal(0) for day in days]
    top = max(sales) or 1
    return [
        {"day": day, "sales": amount, "height": int(amount * 100 / top)}
        for day, amount in zip(days, sales, strict=True)
    ]

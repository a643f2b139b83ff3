"""What a store's overview shows: a fixed number of queries, whatever the store's size.
Sums over days come from the daily rollups; member counts are one grouped query each."""

from datetime import datetime, time, timedelta
from decimal import Decimal

from django.db.models import (
    Count,
    DecimalField,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
)
from django.db.models.functions import Coalesce
from django.http import Http404
from django.utils import timezone

from apps.analytics.metrics import (
    active,
    average_order,
    dormant,
    member_share,
    repurchase_rate,
    window_start,
)
from apps.analytics.models import DailyStoreRollup
from apps.core.money import percent
from apps.coupons.models import Coupon
from apps.coupons.selectors import member_coupons
from apps.members.models import Member, MemberTag
from apps.orders.models import Order
from apps.orders.segments import PAID
from apps.orders.selectors import store_sales_by_channel
from apps.points.selectors import points_totals
from apps.referrals.reports import guide_commissions
from apps.stores.models import Staff, Store
from apps.tiers.selectors import tier_summary, tiers_in_order


def store_overview(store: Store, *, now=None, trend_days: int = 30) -> dict:
    now = now or timezone.now()
    today = timezone.localdate(now)
    members = Member.objects.filter(home_store=store, status=Member.Status.ACTIVE)
    counts = members.aggregate(
        total=Count("pk"),
        active_30=Count("pk", filter=active(now)),
        dormant_90=Count("pk", filter=dormant(now)),
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
            f"{name}_30": Sum(name, filter=since(window_start(today)), default=0)
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
    channels = store_sales_by_channel(
        store,
        since={
            "today": _midnight(today),
            "month": _midnight(today.replace(day=1)),
            "last_30": _midnight(window_start(today)),
        },
    )
    return {
        "members": counts,
        "new": {key: sums[f"new_{key}"] for key in ("today", "week", "month")},
        "last_30": {key[:-3]: value for key, value in sums.items() if key.endswith("_30")},
        "member_share": member_share(sums["member_sales_30"], sums["sales_30"]),
        "aov_members": average_order(sums["member_sales_30"], sums["member_orders_30"]),
        "aov_others": average_order(
            sums["sales_30"] - sums["member_sales_30"],
            sums["orders_30"] - sums["member_orders_30"],
        ),
        "repurchase": repurchase_rate(Order.objects.filter(store=store), now=now),
        "tiers": _tier_distribution(members),
        "trend": _trend(trend, today, trend_days),
        "channels": channels,
    }


def _midnight(day):
    return timezone.make_aware(datetime.combine(day, time.min))


def _tier_distribution(members) -> list[dict]:
    tiers = tiers_in_order()
    held = dict(members.values_list("tier_state__tier").annotate(n=Count("pk")))
    rows = []
    for n, tier in enumerate(tiers):
        count = held.get(tier.pk, 0) + (held.get(None, 0) if n == 0 else 0)
        rows.append({"name": tier.name, "count": count})
    total = sum(row["count"] for row in rows) or 1
    for row in rows:
        row["percent"] = percent(row["count"], total, places=0)
    return rows


def _trend(rows: list[dict], today, length: int) -> list[dict]:
    """The last `length` days' sales, every day present (a day without sales shows as 0)."""
    by_day = {row["day"]: row for row in rows}
    days = [today - timedelta(days=n) for n in range(length - 1, -1, -1)]
    sales = [by_day[day]["sales"] if day in by_day else Decimal(0) for day in days]
    top = max(sales) or 1
    return [
        {"day": day, "sales": amount, "height": int(amount * 100 / top)}
        for day, amount in zip(days, sales, strict=True)
    ]


def store_members(store: Store) -> QuerySet[Member]:
    """The store's own members (their home store is this one), newest first."""
    return (
        Member.objects.filter(home_store=store, status=Member.Status.ACTIVE)
        .select_related("tier_state")
        .order_by("-joined_at", "-pk")
    )


def members_with_spend(store: Store, members: list[Member]) -> list[Member]:
    """Each member's tier (the first tier until their first review) and what they have
    spent at this store, less refunds: one query for the whole page."""
    spend = dict(
        Order.objects.filter(store=store, member__in=members, status__in=PAID)
        .values("member")
        .annotate(total=Sum(F("paid_amount") - F("refunded_amount")))
        .values_list("member", "total")
    )
    tiers = {tier.pk: tier for tier in tiers_in_order()}
    first = next(iter(tiers.values()), None)
    for member in members:
        state = getattr(member, "tier_state", None)
        member.tier = tiers.get(state.tier_id, first) if state else first
        member.spend = spend.get(member.pk, Decimal(0))
    return members


def store_member(store: Store, member_id: int) -> Member:
    """One of the store's members; anyone else's answers 404."""
    member = store_members(store).filter(pk=member_id).first()
    if member is None:
        raise Http404()
    return member


def member_card(store: Store, member: Member) -> dict:
    """What a shop owner sees of one member: tier, points, coupons, tags and the orders
    made at this store."""
    orders = (
        Order.objects.filter(store=store, member=member)
        .exclude(status=Order.Status.CREATED)
        .annotate(items=Sum("lines__quantity"))
        .order_by("-created_at", "-pk")
    )
    tags = (
        MemberTag.objects.filter(member=member)
        .filter(Q(tag__store=store) | Q(tag__store__isnull=True))
        .select_related("tag")
        .order_by("tag__name")
    )
    return {
        "tier": tier_summary(member),
        "points": points_totals(member),
        "coupons": list(member_coupons(member, status=Coupon.Status.AVAILABLE)[:20]),
        "orders": list(orders[:20]),
        "spend": members_with_spend(store, [member])[0].spend,
        "tags": [row.tag for row in tags],
    }


def guide_leaderboard(store: Store, *, start, end) -> list[dict]:
    """Per person of the store: members recruited with their guide code, sales credited
    to them and the commissions those earned them between `start` and `end`, best first.
    Three grouped queries."""
    people = list(
        Staff.objects.filter(store=store, is_active=True).select_related("user").order_by("pk")
    )
    recruited = dict(
        Member.objects.filter(guide__in=people, joined_at__gte=start, joined_at__lt=end)
        .values("guide")
        .annotate(n=Count("pk"))
        .values_list("guide", "n")
    )
    sold = {
        row["guide"]: row
        for row in Order.objects.filter(
            store=store,
            guide__in=people,
            paid_at__gte=start,
            paid_at__lt=end,
            status__in=PAID,
        )
        .values("guide")
        .annotate(orders=Count("pk"), sales=Sum(F("paid_amount") - F("refunded_amount")))
    }
    earned = guide_commissions([person.pk for person in people], start=start, end=end)
    rows = [
        {
            "staff": person,
            "recruited": recruited.get(person.pk, 0),
            "orders": sold.get(person.pk, {}).get("orders", 0),
            "sales": sold.get(person.pk, {}).get("sales") or Decimal(0),
            "commissions": earned.get(person.pk, Decimal(0)),
        }
        for person in people
    ]
    rows.sort(key=lambda row: (-row["sales"], -row["recruited"], row["staff"].pk))
    top = max((row["sales"] for row in rows), default=0) or 1
    for row in rows:
        row["height"] = int(row["sales"] * 100 / top)
    return rows


def stores_compared(stores: QuerySet[Store], *, today=None) -> QuerySet[Store]:
    """Stores side by side: members, new members, sales, members' sales and orders over
    the last 30 days, each a subquery, so a page of stores is one query whatever its size."""
    today = today or timezone.localdate()
    last_30 = DailyStoreRollup.objects.filter(
        store=OuterRef("pk"), day__gte=window_start(today), day__lte=today
    ).values("store")
    money = DecimalField(max_digits=14, decimal_places=2)

    def rollup_sum(name, field):
        total = last_30.annotate(total=Sum(name)).values("total")
        return Coalesce(Subquery(total, output_field=field), 0, output_field=field)

    members = (
        Member.objects.filter(home_store=OuterRef("pk"), status=Member.Status.ACTIVE)
        .values("home_store")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return stores.select_related("distributor").annotate(
        member_count=Coalesce(Subquery(members, output_field=IntegerField()), 0),
        new_members_30=rollup_sum("new_members", IntegerField()),
        sales_30=rollup_sum("sales", money),
        member_sales_30=rollup_sum("member_sales", money),
        orders_30=rollup_sum("orders", IntegerField()),
    )

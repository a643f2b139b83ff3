"""The daily rollup: each figure of a store's day counted by one grouped query over the
day's rows, the whole day written by one upsert. Recomputing a day gives the same rows."""

from datetime import date, datetime, time, timedelta

from django.db.models import Count, F, Q, Sum
from django.db.models.functions import Abs
from django.utils import timezone

from apps.analytics.models import DailyStoreRollup
from apps.coupons.models import Coupon
from apps.members.models import Member, StoreVisit
from apps.orders.models import Order
from apps.orders.segments import PAID
from apps.points.models import ManualAction

FIGURES = [
    "new_members",
    "visits",
    "orders",
    "member_orders",
    "sales",
    "member_sales",
    "refunds",
    "coupons_used",
    "coupon_sales",
    "points_issued",
    "points_redeemed",
    "manual_actions",
    "manual_points",
    "coupons_gifted",
]


def rollup_day(day: date) -> int:
    """Recompute every store's figures for `day` (local time). Returns the rows written."""
    start = timezone.make_aware(datetime.combine(day, time.min))
    end = start + timedelta(days=1)
    rows: dict[int, dict] = {}

    def put(store_id, **figures):
        rows.setdefault(store_id, dict.fromkeys(FIGURES, 0)).update(figures)

    for store_id, n in (
        Member.objects.filter(joined_at__gte=start, joined_at__lt=end, home_store__isnull=False)
        .values_list("home_store")
        .annotate(n=Count("pk"))
    ):
        put(store_id, new_members=n)
    for store_id, n in (
        StoreVisit.objects.filter(created_at__gte=start, created_at__lt=end)
        .values_list("store")
        .annotate(n=Count("pk"))
    ):
        put(store_id, visits=n)
    member = Q(member__isnull=False)
    for row in (
        Order.objects.filter(paid_at__gte=start, paid_at__lt=end, status__in=PAID)
        .values("store")
        .annotate(
            orders=Count("pk"),
            member_orders=Count("pk", filter=member),
            sales=Sum("paid_amount"),
            member_sales=Sum("paid_amount", filter=member, default=0),
            refunds=Sum("refunded_amount"),
            points_issued=Sum("points_earned"),
            points_redeemed=Sum("points_used"),
        )
    ):
        put(row.pop("store"), **row)
    for store_id, n, sales in (
        Coupon.objects.filter(used_at__gte=start, used_at__lt=end, status=Coupon.Status.USED)
        .exclude(used_store=None)
        .values_list("used_store")
        .annotate(n=Count("pk"), sales=Sum(F("order_amount"), default=0))
    ):
        put(store_id, coupons_used=n, coupon_sales=sales)
    for store_id, n, points in (
        ManualAction.objects.filter(
            requested_at__gte=start,
            requested_at__lt=end,
            status__in=[ManualAction.Status.APPLIED, ManualAction.Status.APPROVED],
        )
        .exclude(store=None)
        .values_list("store")
        .annotate(n=Count("pk"), points=Sum(Abs("points")))
    ):
        put(store_id, manual_actions=n, manual_points=points)
    for store_id, n in (
        Coupon.objects.filter(
            issued_at__gte=start, issued_at__lt=end, source=Coupon.Source.STORE_GIFT
        )
        .exclude(store=None)
        .values_list("store")
        .annotate(n=Count("pk"))
    ):
        put(store_id, coupons_gifted=n)
    DailyStoreRollup.objects.bulk_create(
        [
            DailyStoreRollup(store_id=store_id, day=day, **figures)
            for store_id, figures in rows.items()
        ],
        update_conflicts=True,
        unique_fields=["store", "day"],
        update_fields=[*FIGURES, "computed_at"],
    )
    DailyStoreRollup.objects.filter(day=day).exclude(store_id__in=rows).delete()
    return len(rows)


def rollups_refresh(*, days: int = 2, today: date | None = None) -> int:
    """The job: today (brought up to date) and the days before it, which late rows — a
    refund, an imported order — may still change."""
    today = today or timezone.localdate()
    return sum(rollup_day(today - timedelta(days=n)) for n in range(days))

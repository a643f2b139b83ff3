"""What the figures mean, each defined once for the store dashboards, their member filters
and the HQ front page: an active member, a dormant one, a new one, the repurchase rate, the
members' share of sales, an average order, the last 30 days (the orders that count as sales
are apps.orders.segments.PAID). Percentages and amounts are rounded by `core.money`."""

from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from apps.core.money import money, percent
from apps.members.segments import not_seen_since
from apps.orders.models import Order

ACTIVE_DAYS = 30  # seen in the last 30 days
DORMANT_DAYS = 90  # not seen for 90 days or more
REPURCHASE_DAYS = 90  # bought twice or more in the last 90 days
FIGURES_DAYS = 30  # the dashboards' "last 30 days", today included


def active(now: datetime) -> Q:
    """Members seen in the last ACTIVE_DAYS days."""
    return Q(last_active_at__gte=now - timedelta(days=ACTIVE_DAYS))


def dormant(now: datetime) -> Q:
    """Members not seen for DORMANT_DAYS days or more (or never, having joined that long ago)."""
    return not_seen_since(now - timedelta(days=DORMANT_DAYS))


def new_this_month(now: datetime) -> Q:
    """Members who joined since the first of this month, local time."""
    start = timezone.localtime(now).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return Q(joined_at__gte=start)


def window_start(today: date, days: int = FIGURES_DAYS) -> date:
    """The first of the last `days` days, today being the last."""
    return today - timedelta(days=days - 1)


def repurchase_rate(orders: QuerySet[Order], *, now: datetime) -> Decimal | None:
    """Of the members who bought in `orders` in the last REPURCHASE_DAYS days, the percentage
    who bought twice or more; None when no member bought."""
    buyers = (
        orders.filter(member__isnull=False, paid_at__gte=now - timedelta(days=REPURCHASE_DAYS))
        .values("member")
        .annotate(n=Count("pk"))
        .aggregate(buyers=Count("member"), again=Count("member", filter=Q(n__gte=2)))
    )
    return percent(buyers["again"], buyers["buyers"])


def member_share(member_sales, sales) -> Decimal | None:
    """The members' percentage of sales; None without sales."""
    return percent(member_sales, sales)


def average_order(sales, orders: int) -> Decimal | None:
    """Sales per order, to the fen; None without orders."""
    return money(Decimal(sales) / orders) if orders else None

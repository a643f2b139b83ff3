"""What the HQ console's front page shows: the brand today and the work waiting."""

from datetime import datetime, time, timedelta
from decimal import Decimal

from django.db.models import Count, Q, Sum
from django.utils import timezone

from apps.analytics.metrics import window_start
from apps.analytics.models import DailyStoreRollup
from apps.analytics.selectors import stores_flagged
from apps.core.models import Event
from apps.coupons.models import CouponTemplate, IssueBatch
from apps.members.models import Member, MemberImport
from apps.orders.models import OrderImport
from apps.orders.settlement import online_statement
from apps.points.settlement import settlement_statement

DROPS_SHOWN = 5


def hq_kpis(*, now=None) -> dict:
    now = now or timezone.now()
    today = timezone.localdate(now)
    midnight = timezone.make_aware(datetime.combine(today, time.min))
    members = Member.objects.filter(status=Member.Status.ACTIVE).aggregate(
        total=Count("pk"), today=Count("pk", filter=Q(joined_at__gte=midnight))
    )
    figures = (
        "sales",
        "member_sales",
        "orders",
        "coupons_used",
        "points_issued",
        "points_redeemed",
        "manual_actions",
        "coupons_gifted",
    )
    days = DailyStoreRollup.objects.filter(day__gte=window_start(today)).aggregate(
        **{f"{name}_today": Sum(name, filter=Q(day=today), default=0) for name in figures},
        **{f"{name}_30": Sum(name, default=0) for name in figures},
    )
    last_month_end = today.replace(day=1) - timedelta(days=1)
    last_month = {"start": last_month_end.replace(day=1), "end": last_month_end}
    statement = settlement_statement(**last_month)
    online = [row for row in online_statement(**last_month) if row.paid_out]
    return {
        "members": members,
        "today": {name: days[f"{name}_today"] for name in figures},
        "last_30": {name: days[f"{name}_30"] for name in figures},
        "batches": list(
            IssueBatch.objects.filter(status=IssueBatch.Status.RUNNING)
            .select_related("template")
            .order_by("started_at")[:DROPS_SHOWN]
        ),
        "drops": list(
            CouponTemplate.objects.filter(active=True, claimable=True, claim_starts_at__lte=now)
            .exclude(claim_ends_at__lte=now)
            .order_by("-claim_starts_at")[:DROPS_SHOWN]
        ),
        "settlement": {
            **last_month,
            "stores": sum(1 for row in statement if row.net),
            "value": sum((row.value for row in statement), Decimal(0)),
        },
        "online_settlement": {
            **last_month,
            "stores": len(online),
            "owed": sum((row.owed for row in online), Decimal(0)),
        },
        # Stores whose points spent, coupons or manual actions stand far outside their peers'.
        "flagged": stores_flagged(today=today),
        "failed": {
            "events": Event.objects.filter(status=Event.Status.FAILED).count(),
            "member_imports": MemberImport.objects.filter(
                status=MemberImport.Status.FAILED
            ).count(),
            "order_imports": OrderImport.objects.filter(status=OrderImport.Status.FAILED).count(),
        },
    }

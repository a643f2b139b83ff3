"""What a campaign earned: its reached members against its holdout, each counted from the
first time the campaign recorded them, over the `days` that follow. The difference of the
means, with its 95% confidence interval, is Welch's t-test of scipy (per member: bought or
not, revenue, orders, visits); the lift is the difference over the holdout's mean.

With it, what became of the campaign's messages, by channel (`campaign_deliveries`)."""

import csv
import io
from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.db.models import Count, Min, Q, Sum
from django.utils.translation import gettext as _
from scipy import stats

from apps.coupons.models import Coupon
from apps.marketing.campaigns import BUDGETS
from apps.marketing.models import (
    Campaign,
    CampaignAction,
    CampaignGrant,
    CampaignMember,
    Channel,
    Message,
)
from apps.members.models import StoreVisit
from apps.orders.models import Order

MIN_GROUP = 30  # fewer members in a group than this, and the report says it cannot tell
BOUGHT = (
    Order.Status.PAID,
    Order.Status.COMPLETED,
    Order.Status.PARTIALLY_REFUNDED,
)


@dataclass(frozen=True)
class Metric:
    name: str
    reached: float
    holdout: float
    difference: float | None
    lift: float | None
    low: float | None
    high: float | None


@dataclass(frozen=True)
class Report:
    reached: int
    holdout: int
    days: int
    metrics: list[Metric]
    cost: dict[str, int]
    verdict: str
    deliveries: dict[str, dict[str, int]]


# The cause a campaign queues its messages under (apps.marketing.campaigns), its id the
# occurrence's.
CAMPAIGN_CAUSE = "campaign"
CAPS = (
    Message.Reason.CAP_CHANNEL_DAY,
    Message.Reason.CAP_CHANNEL_WEEK,
    Message.Reason.CAP_DAY,
    Message.Reason.CAP_WEEK,
)
_WAITING = Q(status__in=[Message.Status.QUEUED, Message.Status.SENDING])
# Each figure of a channel's messages: queued (or being sent) / held for quiet hours /
# refused by a frequency cap / refused otherwise (no consent, no subscription, no address…) /
# sent / of those sent, reported delivered / failed to send or reported not delivered.
DELIVERY_FIGURES = {
    "queued": _WAITING & ~Q(reason=Message.Reason.QUIET_HOURS),
    "held": _WAITING & Q(reason=Message.Reason.QUIET_HOURS),
    "capped": Q(status=Message.Status.REFUSED, reason__in=CAPS),
    "refused": Q(status=Message.Status.REFUSED) & ~Q(reason__in=CAPS),
    "sent": Q(status=Message.Status.SENT),
    "delivered": Q(status=Message.Status.SENT, delivery=Message.Delivery.DELIVERED),
    "failed": Q(status=Message.Status.FAILED) | Q(delivery=Message.Delivery.UNDELIVERED),
}


def campaign_deliveries(campaign: Campaign) -> dict[str, dict[str, int]]:
    """By channel (every one, in order), each of DELIVERY_FIGURES for the campaign's
    messages: one grouped query."""
    rows = (
        Message.objects.filter(
            cause_kind=CAMPAIGN_CAUSE, cause_id__in=campaign.occurrences.values("pk")
        )
        .values("channel")
        .annotate(**{name: Count("pk", filter=when) for name, when in DELIVERY_FIGURES.items()})
    )
    found = {row.pop("channel"): row for row in rows}
    return {
        channel: {name: found.get(channel, {}).get(name, 0) for name in DELIVERY_FIGURES}
        for channel in Channel.values
    }


def campaign_report(campaign: Campaign, *, days: int = 30) -> Report:
    firsts = dict(
        CampaignMember.objects.filter(campaign=campaign)
        .values("member_id")
        .annotate(first=Min("created_at"))
        .values_list("member_id", "first")
    )
    groups = dict(
        CampaignMember.objects.filter(campaign=campaign).values_list("member_id", "group")
    )
    per_member = {pk: {"bought": 0, "revenue": 0.0, "orders": 0, "visits": 0} for pk in firsts}
    window = Q(member_id__in=list(firsts))
    if firsts:
        start, end = min(firsts.values()), max(firsts.values()) + timedelta(days=days)
        orders = Order.objects.filter(
            window, status__in=BOUGHT, paid_at__gte=start, paid_at__lt=end
        )
        for member_id, paid_at, payable in orders.values_list("member_id", "paid_at", "payable"):
            if firsts[member_id] <= paid_at < firsts[member_id] + timedelta(days=days):
                row = per_member[member_id]
                row["bought"], row["orders"] = 1, row["orders"] + 1
                row["revenue"] += float(payable)
        visits = StoreVisit.objects.filter(window, created_at__gte=start, created_at__lt=end)
        for member_id, at in visits.values_list("member_id", "created_at"):
            if firsts[member_id] <= at < firsts[member_id] + timedelta(days=days):
                per_member[member_id]["visits"] += 1
    values = defaultdict(lambda: defaultdict(list))
    for member_id, row in per_member.items():
        for name, value in row.items():
            values[name][groups[member_id]].append(value)
    counts = {
        group: sum(1 for g in groups.values() if g == group) for group in CampaignMember.Group
    }
    metrics = [
        _metric(name, values[name][CampaignMember.Group.REACHED], values[name]["holdout"])
        for name in ("bought", "revenue", "orders", "visits")
    ]
    return Report(
        reached=counts[CampaignMember.Group.REACHED],
        holdout=counts[CampaignMember.Group.HOLDOUT],
        days=days,
        metrics=metrics,
        cost=_cost(campaign),
        verdict=_verdict(counts, metrics[0]),
        deliveries=campaign_deliveries(campaign),
    )


def _metric(name: str, reached: list[float], holdout: list[float]) -> Metric:
    mean = lambda values: sum(values) / len(values) if values else 0.0  # noqa: E731
    if len(reached) < MIN_GROUP or len(holdout) < MIN_GROUP:
        return Metric(name, mean(reached), mean(holdout), None, None, None, None)
    difference = mean(reached) - mean(holdout)
    lift = difference / mean(holdout) if mean(holdout) else None
    if len(set(reached)) == len(set(holdout)) == 1:  # no spread: no interval to draw
        return Metric(name, mean(reached), mean(holdout), difference, lift, None, None)
    interval = stats.ttest_ind(reached, holdout, equal_var=False).confidence_interval(0.95)
    return Metric(name, mean(reached), mean(holdout), difference, lift, interval.low, interval.high)


def _cost(campaign: Campaign) -> dict[str, int]:
    spent = dict(
        CampaignGrant.objects.filter(campaign=campaign, action__kind__in=list(BUDGETS))
        .values("action__kind")
        .annotate(total=Sum("cost"))
        .values_list("action__kind", "total")
    )
    used = Coupon.objects.filter(
        cause_kind=Coupon.CauseKind.CAMPAIGN,
        cause_id__in=campaign.occurrences.values("pk"),
        status=Coupon.Status.USED,
    ).aggregate(count=Count("pk"))["count"]
    return {
        "coupons_issued": spent.get(CampaignAction.Kind.COUPON, 0),
        "coupons_used": used,
        "points": spent.get(CampaignAction.Kind.POINTS, 0),
        "messages": spent.get(CampaignAction.Kind.MESSAGE, 0),
    }


def _verdict(counts: dict, conversion: Metric) -> str:
    holdout, reached = counts[CampaignMember.Group.HOLDOUT], counts[CampaignMember.Group.REACHED]
    if min(holdout, reached) < MIN_GROUP:
        return _(
            "Too few members to tell: %(reached)s reached and %(holdout)s held out; each "
            "group needs at least %(min)s."
        ) % {"reached": reached, "holdout": holdout, "min": MIN_GROUP}
    if conversion.low is None or conversion.low <= 0 <= conversion.high:
        return _("Reached and held-out members bought alike, as far as chance can tell.")
    if conversion.low > 0:
        return _("Reached members bought more often than held-out ones.")
    return _("Reached members bought less often than held-out ones.")


def report_csv(report: Report) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["metric", "reached", "holdout", "difference", "lift", "ci_low", "ci_high"])
    writer.writerow(["members", report.reached, report.holdout, "", "", "", ""])
    for metric in report.metrics:
        writer.writerow(
            [metric.name]
            + [
                "" if value is None else f"{Decimal(value):.4f}"
                for value in (
                    metric.reached,
                    metric.holdout,
                    metric.difference,
                    metric.lift,
                    metric.low,
                    metric.high,
                )
            ]
        )
    for name, value in report.cost.items():
        writer.writerow([f"cost_{name}", value, "", "", "", "", ""])
    for channel, figures in report.deliveries.items():
        for name, value in figures.items():
            writer.writerow([f"messages_{channel}_{name}", value, "", "", "", "", ""])
    writer.writerow(["verdict", report.verdict, "", "", "", "", ""])
    return out.getvalue()

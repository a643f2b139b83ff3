import functools
from datetime import date, datetime

from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.db import connections
from django.db.models import Sum
from django.utils import timezone

from apps.core.reference import reference_get
from apps.core.rows import column, database_for_read, table
from apps.members.models import Member
from apps.tiers.models import GrowthEntry, MemberTier, Tier


def tiers_in_order() -> list[Tier]:
    """The tiers, lowest first, each with its channel benefits (cached reference data)."""
    return reference_get(
        "tiers", lambda: list(Tier.objects.prefetch_related("channel_benefits").order_by("rank"))
    )


def window_start(day: date) -> datetime:
    """Growth entered after this moment counts at a review on `day` (the nightly review's
    window, and what `me` says is needed by then)."""
    midnight = timezone.make_aware(datetime.combine(day, datetime.min.time()))
    return midnight - relativedelta(months=settings.TIER_GROWTH_WINDOW_MONTHS)


@functools.cache
def _growth_since_sql(count: int) -> str:
    amount, created_at = column(GrowthEntry, "amount"), column(GrowthEntry, "created_at")
    sums = ", ".join([f"COALESCE(SUM(CASE WHEN {created_at} > %s THEN {amount} END), 0)"] * count)
    return (
        f"SELECT {sums} FROM {table(GrowthEntry)} "
        f"WHERE {column(GrowthEntry, 'member')} = %s AND {created_at} > %s"
    )


def _growth_since(member: Member, sinces: list[datetime]) -> list[int]:
    """The member's growth value entered after each of `sinces`, in one statement by hand:
    every sale to a member that earns growth asks it (`growth_in_window`)."""
    database = connections[database_for_read(GrowthEntry)]
    adapted = [database.ops.adapt_datetimefield_value(since) for since in [*sinces, min(sinces)]]
    with database.cursor() as cursor:
        cursor.execute(_growth_since_sql(len(sinces)), [*adapted[:-1], member.pk, adapted[-1]])
        return [int(total) for total in cursor.fetchone()]


def _window_since(now: datetime | None) -> datetime:
    return (now or timezone.now()) - relativedelta(months=settings.TIER_GROWTH_WINDOW_MONTHS)


def growth_in_window(member: Member, *, now: datetime | None = None) -> int:
    return _growth_since(member, [_window_since(now)])[0]


def growths_in_window(member_ids: list[int], *, now: datetime) -> dict[int, int]:
    """By member, the growth value of `growth_in_window`, for many members in one query."""
    return dict(
        GrowthEntry.objects.filter(member_id__any=member_ids, created_at__gt=_window_since(now))
        .values("member_id")
        .annotate(total=Sum("amount"))
        .values_list("member_id", "total")
    )


_TIER_OF_SQL = (
    f"SELECT {column(MemberTier, 'tier')} FROM {table(MemberTier)} "
    f"WHERE {column(MemberTier, 'member')} = %s"
)


def member_tier(member: Member) -> Tier | None:
    """The member's tier; a member never reviewed is in the first one."""
    with connections[database_for_read(MemberTier)].cursor() as cursor:
        cursor.execute(_TIER_OF_SQL, [member.pk])
        row = cursor.fetchone()
    return _tier_of(row[0] if row else None)


def _tier_of(tier_id: int | None) -> Tier | None:
    tiers = tiers_in_order()
    return next((tier for tier in tiers if tier.pk == tier_id), tiers[0] if tiers else None)


def tier_benefits(tier: Tier) -> dict:
    """What a tier gives, as its member sees it; `channels`: where its discount differs."""
    return {
        "discount_percent": tier.discount_percent,
        "points_multiplier": tier.points_multiplier,
        "birthday_gift": tier.birthday_gift,
        "free_shipping": tier.free_shipping,
        "members_only_access": tier.members_only_access,
        "channels": [
            {"channel": benefit.channel, "discount_percent": benefit.discount_percent}
            for benefit in sorted(tier.channel_benefits.all(), key=lambda b: b.channel)
        ],
    }


def tier_summary(member: Member) -> dict:
    """What `me` shows: the tier and its benefits, the growth value that counts, what the
    next tier needs, and what is still needed to keep this one at its review (`keep_by`):
    the growth that will still be in the window that day, unless HQ's floor holds the tier
    then. The first tier is never lost: nothing to keep."""
    state = (
        MemberTier.objects.filter(member=member)
        .values_list("tier_id", "review_on", "floor__rank", "floor_until")
        .first()
    )
    tier_id, review_on, floor_rank, floor_until = state or (None, None, None, None)
    current = _tier_of(tier_id)
    at_stake = current is not None and current.rank > 0 and review_on is not None
    since = timezone.now() - relativedelta(months=settings.TIER_GROWTH_WINDOW_MONTHS)
    growth, growth_at_review = _growth_since(
        member, [since, window_start(review_on) if at_stake else since]
    )
    floor_holds = (
        at_stake
        and floor_rank is not None
        and floor_rank >= current.rank
        and floor_until is not None
        and floor_until >= review_on
    )
    following = next(
        (tier for tier in tiers_in_order() if current and tier.rank > current.rank), None
    )
    if current is None:
        to_keep = None
    elif at_stake and not floor_holds:
        to_keep = max(current.growth_threshold - growth_at_review, 0)
    else:
        to_keep = 0
    return {
        "tier": {
            "code": current.code,
            "name": current.name,
            "rank": current.rank,
            "benefits": tier_benefits(current),
        }
        if current
        else None,
        "growth": {
            "value": growth,
            "next_tier": following.code if following else None,
            "to_next": max(following.growth_threshold - growth, 0) if following else None,
            "to_keep": to_keep,
            "next_tier_name": following.name if following else None,
            "keep_by": review_on if at_stake else None,
        },
    }

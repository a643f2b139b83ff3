from datetime import datetime

from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.db import connections
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


_GROWTH_SINCE_SQL = (
    f"SELECT COALESCE(SUM({column(GrowthEntry, 'amount')}), 0) FROM {table(GrowthEntry)} "
    f"WHERE {column(GrowthEntry, 'member')} = %s AND {column(GrowthEntry, 'created_at')} > %s"
)


def growth_in_window(member: Member, *, now: datetime | None = None) -> int:
    since = (now or timezone.now()) - relativedelta(months=settings.TIER_GROWTH_WINDOW_MONTHS)
    database = connections[database_for_read(GrowthEntry)]
    with database.cursor() as cursor:
        cursor.execute(
            _GROWTH_SINCE_SQL, [member.pk, database.ops.adapt_datetimefield_value(since)]
        )
        (total,) = cursor.fetchone()
    return total


_TIER_OF_SQL = (
    f"SELECT {column(MemberTier, 'tier')} FROM {table(MemberTier)} "
    f"WHERE {column(MemberTier, 'member')} = %s"
)


def member_tier(member: Member) -> Tier | None:
    """The member's tier; a member never reviewed is in the first one."""
    tiers = tiers_in_order()
    with connections[database_for_read(MemberTier)].cursor() as cursor:
        cursor.execute(_TIER_OF_SQL, [member.pk])
        row = cursor.fetchone()
    tier_id = row[0] if row else None
    return next((tier for tier in tiers if tier.pk == tier_id), tiers[0] if tiers else None)


def tier_summary(member: Member) -> dict:
    """What `me` shows: the tier, the growth value that counts, what the next tier needs and
    what is still needed to keep this one at its review."""
    tiers = tiers_in_order()
    current = member_tier(member)
    growth = growth_in_window(member)
    following = next((tier for tier in tiers if current and tier.rank > current.rank), None)
    return {
        "tier": {"code": current.code, "name": current.name, "rank": current.rank}
        if current
        else None,
        "growth": {
            "value": growth,
            "next_tier": following.code if following else None,
            "to_next": max(following.growth_threshold - growth, 0) if following else None,
            "to_keep": max(current.growth_threshold - growth, 0) if current else None,
        },
    }

from apps.core.rows import row_one
from apps.members.models import Member
from apps.tiers.models import MemberTier, Tier
from apps.tiers.services import growth_in_window, tiers_in_order


def member_tier(member: Member) -> Tier | None:
    """The member's tier; a member never reviewed is in the first one."""
    tiers = tiers_in_order()
    row = row_one(
        f"SELECT tier_id FROM {MemberTier._meta.db_table} WHERE member_id = %s", [member.pk]
    )
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

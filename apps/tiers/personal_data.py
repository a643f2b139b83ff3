"""A member's tier and growth value as they download them with their data (PIPL)."""

from apps.members.models import Member
from apps.tiers.models import GrowthEntry, TierChange
from apps.tiers.selectors import tier_summary


def member_tier_data(member: Member) -> dict:
    """The tier as `me` shows it, every growth entry and every tier change, oldest first."""
    return {
        **tier_summary(member),
        "growth_entries": [
            {"at": e.created_at, "amount": e.amount, "kind": e.kind, "description": e.description}
            for e in GrowthEntry.objects.filter(member=member).order_by("created_at", "pk")
        ],
        "tier_changes": [
            {
                "at": change.created_at,
                "from": change.from_tier.name,
                "to": change.to_tier.name,
                "reason": change.reason,
            }
            for change in TierChange.objects.filter(member=member)
            .select_related("from_tier", "to_tier")
            .order_by("created_at", "pk")
        ],
    }

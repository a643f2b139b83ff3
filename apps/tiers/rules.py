"""Pure tier rules."""

from dataclasses import dataclass


@dataclass(frozen=True)
class TierFacts:
    id: int
    rank: int
    threshold: int


def qualified_tier(growth: int, tiers: list[TierFacts]) -> TierFacts:
    """The highest tier whose threshold the growth value reaches (tiers sorted by rank)."""
    reached = [tier for tier in tiers if tier.threshold <= growth]
    return reached[-1] if reached else tiers[0]


def next_tier(current_rank: int, tiers: list[TierFacts]) -> TierFacts | None:
    return next((tier for tier in tiers if tier.rank > current_rank), None)

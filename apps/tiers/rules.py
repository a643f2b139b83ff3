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


@dataclass(frozen=True)
class ReviewDecision:
    rank: int  # the tier's rank after the review
    start_grace: bool = False  # below the tier: warned, kept for the grace period


def review(
    *,
    current: int,
    qualified: int,
    floor: int | None,
    in_grace: bool,
    grace_ended: bool,
    grace_days: int,
    policy: str,
) -> ReviewDecision:
    """What a review does to a member's tier (ranks in, rank out).

    Qualifying for the tier (or a floor that holds it) keeps it. Below it, a member is first
    warned and keeps the tier for the grace period; when that ends and they still fall short,
    they drop one tier ("drop_one") or to the tier their growth reaches ("reevaluate") —
    never below a floor.
    """
    keep_at_least = max(qualified, floor if floor is not None else 0)
    if keep_at_least >= current:
        return ReviewDecision(rank=current)
    if grace_days and not in_grace and not grace_ended:
        return ReviewDecision(rank=current, start_grace=True)
    if in_grace:
        return ReviewDecision(rank=current)
    target = current - 1 if policy == "drop_one" else qualified
    return ReviewDecision(rank=max(target, keep_at_least))

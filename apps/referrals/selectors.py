"""Reads of distribution: a promoter's balances and commissions; a member's referrals."""

from decimal import Decimal

from django.conf import settings
from django.db.models import Exists, OuterRef
from django.urls import reverse

from apps.members.models import Member
from apps.referrals.models import (
    CommissionAccount,
    Promoter,
    Referral,
    ReferralFlag,
    ReferralReward,
)


def promoter_balances(promoter: Promoter) -> dict[str, Decimal]:
    """What the member centre shows: frozen, available, and debt (what they owe, ≥ 0)."""
    found = dict(CommissionAccount.objects.filter(promoter=promoter).values_list("kind", "balance"))
    return {
        "frozen": found.get(CommissionAccount.Kind.FROZEN, Decimal(0)),
        "available": found.get(CommissionAccount.Kind.AVAILABLE, Decimal(0)),
        "debt": -found.get(CommissionAccount.Kind.DEBT, Decimal(0)),
    }


# The friends `me/referrals` lists: the latest this many (with the count of all).
INVITED_SHOWN = 50


def referral_link(member: Member) -> str:
    """The member's referral link: sign-in with their code (`?ref=`), which a new member's
    sign-in sends as `referral_code`."""
    return f"{settings.SITE_URL}{reverse('m-login')}?ref={member.referral_code}"


def member_referrals(member: Member, *, limit: int = INVITED_SHOWN) -> tuple[int, list[dict]]:
    """How many friends `member` brought, and the latest `limit` of them with what the
    member sees of each (masked phone, when they joined, the reward's state), in two
    queries whatever the number."""
    mine = Referral.objects.filter(referrer=member)
    rows = (
        mine.select_related("referee")
        .annotate(
            flagged=Exists(
                ReferralFlag.objects.filter(referral=OuterRef("pk"), cleared_at__isnull=True)
            ),
            rewarded_me=Exists(
                ReferralReward.objects.filter(
                    referral=OuterRef("pk"), side=ReferralReward.Side.REFERRER
                )
            ),
        )
        .order_by("-joined_at", "-pk")[:limit]
    )
    invited = [
        {
            "phone_masked": referral.referee.phone_masked,
            "joined_at": referral.joined_at,
            "reward_status": reward_status(referral),
        }
        for referral in rows
    ]
    return mine.count(), invited


def reward_status(referral: Referral) -> str:
    """What a referrer sees of a friend: waiting (no purchase yet), pending (the first
    order in its window, or held for review), rewarded, limit_reached (the friend was
    rewarded, the referrer past their limit), none (no reward)."""
    if referral.status == Referral.Status.REWARDED:
        return "rewarded" if referral.rewarded_me else "limit_reached"
    if referral.status == Referral.Status.VOID:
        return "none"
    if referral.status == Referral.Status.ORDERED or referral.flagged:
        return "pending"
    return "waiting"

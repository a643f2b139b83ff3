"""A member's part in distribution as they download it with their data (PIPL, `me/export`):
their promoter record, balances, commissions and withdrawals (never their customers'); the
referral that brought them, with where they signed up from, and the referral rewards they
were given (their friends are counted in members' `referrals`, never named)."""

from apps.members.models import Member
from apps.referrals.models import Promoter, Referral, ReferralReward
from apps.referrals.selectors import promoter_balances


def member_promoter_data(member: Member) -> dict | None:
    promoter = Promoter.objects.filter(member=member).first()
    if promoter is None:
        return None
    return {
        "status": promoter.status,
        "applied_at": promoter.created_at,
        "decided_at": promoter.decided_at,
        **promoter_balances(promoter),
        "commissions": [
            {
                "order_no": commission.order.order_no,
                "level": commission.level,
                "amount": commission.amount,
                "reversed": commission.reversed,
                "status": commission.status,
                "available_on": commission.available_on,
            }
            for commission in promoter.commissions.select_related("order").order_by(
                "created_at", "pk"
            )
        ],
        "withdrawals": [
            {
                "amount": withdrawal.amount,
                "fee": withdrawal.fee,
                "status": withdrawal.status,
                "requested_at": withdrawal.requested_at,
                "paid_at": withdrawal.paid_at,
            }
            for withdrawal in promoter.withdrawals.order_by("requested_at", "pk")
        ],
    }


def member_referral_data(member: Member) -> dict:
    mine = Referral.objects.filter(referee=member).first()
    return {
        "as_friend": mine
        and {
            "joined_at": mine.joined_at,
            "signed_up_from": mine.requester,
            "device": mine.device,
            "status": mine.status,
            "why_no_reward": mine.void_reason,
            "rewarded_at": mine.rewarded_at,
        },
        "rewards": [
            {
                "as": reward.side,
                "points": reward.points,
                "growth": reward.growth,
                "coupon": reward.coupon.code if reward.coupon else None,
                "given_at": reward.given_at,
            }
            for reward in ReferralReward.objects.filter(member=member)
            .select_related("coupon")
            .order_by("given_at", "pk")
        ],
    }

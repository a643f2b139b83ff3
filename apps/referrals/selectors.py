"""Reads of distribution: a promoter's balances, customers, commissions and withdrawals; a
member's referrals."""

from decimal import Decimal

from django.conf import settings
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.urls import reverse
from django.utils import timezone

from apps.members.models import Member, PromoterBinding
from apps.orders.models import Order
from apps.referrals.errors import NotPromoter
from apps.referrals.models import (
    Commission,
    CommissionAccount,
    Promoter,
    Referral,
    ReferralFlag,
    ReferralReward,
    Withdrawal,
)


def promoter_balances(promoter: Promoter) -> dict[str, Decimal]:
    """What the member centre shows: frozen, available, and debt (what they owe, ≥ 0)."""
    found = dict(CommissionAccount.objects.filter(promoter=promoter).values_list("kind", "balance"))
    return {
        "frozen": found.get(CommissionAccount.Kind.FROZEN, Decimal(0)),
        "available": found.get(CommissionAccount.Kind.AVAILABLE, Decimal(0)),
        "debt": -found.get(CommissionAccount.Kind.DEBT, Decimal(0)),
    }


def member_promoter(member: Member) -> Promoter:
    """The member's promoter record, whatever its status; NotPromoter if they never applied."""
    promoter = Promoter.objects.filter(member=member).first()
    if promoter is None:
        raise NotPromoter()
    promoter.member = member
    return promoter


def promoter_customers(promoter: Promoter, now=None) -> QuerySet[PromoterBinding]:
    """The members bound to the promoter now, most recent first, with their member."""
    now = now or timezone.now()
    return (
        PromoterBinding.objects.filter(
            Q(ends_at__isnull=True) | Q(ends_at__gt=now),
            promoter_id=promoter.member_id,
            replaced_at__isnull=True,
            started_at__lte=now,
        )
        .select_related("member")
        .order_by("-started_at", "-pk")
    )


def promoter_orders_credited(promoter: Promoter) -> int:
    """How many paid orders credit the promoter at level 1."""
    return Order.objects.filter(promoter_id=promoter.member_id, paid_at__isnull=False).count()


def promoter_commissions(promoter: Promoter) -> QuerySet[Commission]:
    return (
        Commission.objects.filter(promoter=promoter)
        .select_related("order")
        .only("order__order_no", "level", "amount", "reversed", "status", "available_on")
        .order_by("-created_at", "-pk")
    )


def promoter_withdrawals(promoter: Promoter) -> QuerySet[Withdrawal]:
    return Withdrawal.objects.filter(promoter=promoter).order_by("-requested_at", "-pk")


def withdrawal_confirmation(withdrawal: Withdrawal) -> dict | None:
    """What the member's mini-program passes to wx.requestMerchantTransfer to confirm
    receipt of a withdrawal awaiting it (mchId, appId, package); None for any other."""
    if withdrawal.status != Withdrawal.Status.CONFIRMING or not withdrawal.payout_package:
        return None
    return {
        "mch_id": settings.WECHATPAY_MCH_ID,
        "app_id": settings.WECHATPAY_APP_ID,
        "package_info": withdrawal.payout_package,
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
            taken_back=Exists(
                ReferralReward.objects.filter(
                    referral=OuterRef("pk"),
                    side=ReferralReward.Side.REFERRER,
                    clawed_back_at__isnull=False,
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
    order in its window, or held for review), rewarded, taken_back (rewarded, then taken
    back when the first order was refunded after all), limit_reached (the friend was
    rewarded, the referrer past their limit), none (no reward)."""
    if referral.status == Referral.Status.REWARDED:
        if not referral.rewarded_me:
            return "limit_reached"
        return "taken_back" if referral.taken_back else "rewarded"
    if referral.status == Referral.Status.VOID:
        return "none"
    if referral.status == Referral.Status.ORDERED or referral.flagged:
        return "pending"
    return "waiting"

"""老带新 rewards taken back: a friend's first order that earned a referral its rewards (it
had passed its return window) is refunded after all — an HQ exception refund — below what
qualified it (the rule's minimum, or nothing left: `first_order_qualifies`, the very test
the rewards were given by). A partial refund that leaves the order qualifying takes
nothing; the one that brings it below takes both sides' rewards back, once.

Each side's reward is taken back the way its ledger allows, by the refund: points by
reversing the reward's entry under the points ledger's own rule for a refund after points
were spent (what is left of it is taken back, what the member already spent is recorded,
never taken into the negative); growth value by a negative entry; the coupon voided if it
is still unused — one already used or held by an order stays with the member, and the
reward says so. Run from the `order_refunded` event; each reward is taken back under its
row lock and marked, so a retried event, or a later refund of the same order, takes
nothing more."""

from datetime import datetime

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from apps.core.audit import audit_record
from apps.coupons.actions import coupons_void
from apps.coupons.models import Coupon
from apps.members.models import Member
from apps.orders.models import Refund
from apps.points.models import Entry
from apps.points.services import points_reverse
from apps.referrals.models import Referral, ReferralReward
from apps.referrals.rewards import first_order_qualifies
from apps.tiers.models import GrowthEntry
from apps.tiers.services import growth_earn


@transaction.atomic
def referral_rewards_claw_back(
    *, refund_id: int, now: datetime | None = None
) -> list[ReferralReward]:
    """The rewards refund `refund_id` takes back (none unless it leaves a rewarded
    referral's first order below what qualified it)."""
    now = now or timezone.now()
    refund = Refund.objects.select_related("order").get(pk=refund_id)
    # locked whatever its status, so a reward job's batch writing it is waited for: then it
    # is read as that batch left it (rewarded), never as it was before (ordered)
    referral = (
        Referral.objects.filter(first_order=refund.order)
        .select_for_update(of=("self",))
        .select_related("rule")
        .first()
    )
    if referral is None or referral.status != Referral.Status.REWARDED:
        return []
    refunded = refund.order.refunds.filter(pk__lte=refund.pk).aggregate(total=Sum("amount"))
    if first_order_qualifies(referral.rule, refund.order.paid_amount - refunded["total"]):
        return []
    rewards = list(
        ReferralReward.objects.select_for_update()
        .filter(referral=referral, clawed_back_at__isnull=True)
        .order_by("pk")
    )
    for reward in rewards:
        _take_back(reward, refund, now)
    return rewards


def _live(member: Member) -> Member:
    """The member, or the one they were merged into since (who holds what they had)."""
    while member.merged_into_id is not None:
        member = member.merged_into
    return member


def _take_back(reward: ReferralReward, refund: Refund, now: datetime) -> None:
    """Growth first, then points, then the coupon: the order of a refund."""
    description = f"订单 {refund.refund_no} 退款, 扣回推荐奖励"
    given = GrowthEntry.objects.filter(
        cause_kind=GrowthEntry.CauseKind.REFERRAL, cause_id=reward.pk, amount__gt=0
    ).first()
    if given is not None:
        growth_earn(
            member=_live(given.member),
            amount=-given.amount,
            kind=GrowthEntry.Kind.REFUND,
            cause_kind=GrowthEntry.CauseKind.REFERRAL_BACK,
            cause_id=reward.pk,
            description=description,
            now=now,
        )
        reward.growth_back = given.amount
    earned = Entry.objects.filter(
        cause_kind=Entry.CauseKind.REFERRAL, cause_id=reward.pk, kind=Entry.Kind.EARN
    ).first()
    if earned is not None:
        back, spent = points_reverse(
            entry=earned,
            cause_kind=Entry.CauseKind.REFUND,
            cause_id=refund.pk,
            description=description,
        )
        reward.points_back, reward.points_spent = (back.amount if back else 0), spent
    if reward.coupon_id is not None:
        voided = coupons_void(coupons=Coupon.objects.filter(pk=reward.coupon_id), actor=None)
        reward.coupon_kept = (
            not voided
            and Coupon.objects.filter(
                pk=reward.coupon_id, status__in=[Coupon.Status.USED, Coupon.Status.LOCKED]
            ).exists()
        )
    reward.clawed_back_at, reward.clawback_refund = now, refund
    reward.save(
        update_fields=[
            "clawed_back_at",
            "clawback_refund",
            "points_back",
            "points_spent",
            "growth_back",
            "coupon_kept",
        ]
    )
    audit_record(
        actor=None,
        action="referral_reward.claw_back",
        target=reward,
        after={
            "refund": refund.refund_no,
            "points_back": reward.points_back,
            "points_spent": reward.points_spent,
            "growth_back": reward.growth_back,
            "coupon_kept": reward.coupon_kept,
        },
    )

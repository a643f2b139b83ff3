"""老带新 rewards taken back when the friend's first order is refunded after its return window
(an HQ exception refund): points by the points ledger's rule for spent points, growth value
by a negative entry, coupons voided unless used; once, however often the event comes."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from apps.core.events import event_dispatch
from apps.core.models import AuditEntry, Event, EventHandling
from apps.coupons.models import Coupon
from apps.orders.refunds import order_refund
from apps.points.models import Entry
from apps.points.selectors import points_available
from apps.points.services import points_redeem
from apps.points.verification import ledger_problems
from apps.referrals.admin import ReferralRewardAdmin
from apps.referrals.clawback import referral_rewards_claw_back
from apps.referrals.models import Referral, ReferralReward, ReferralRule
from apps.referrals.rewards import referral_first_order, referral_record, referral_rewards_give_due
from apps.referrals.selectors import member_referrals
from apps.tiers.models import GrowthEntry
from tests.coupons.factories import CouponTemplateFactory
from tests.members.factories import MemberFactory
from tests.referrals.factories import sale
from tests.stores.factories import StoreFactory

pytestmark = pytest.mark.django_db

WINDOW = 7  # COMMISSION_FROZEN_DAYS in the test settings


@pytest.fixture
def rule():
    def template(name):
        return CouponTemplateFactory(
            name=name, claimable=False, auto_issue="referral", total_stock=None
        )

    return ReferralRule.objects.create(
        name="老带新",
        referrer_points=100,
        referrer_growth=10,
        referrer_coupon=template("推荐人券"),
        referee_points=50,
        referee_coupon=template("好友券"),
        min_order_amount=Decimal("60.00"),
    )


@pytest.fixture
def rewarded(rule):
    """A referral rewarded on a 100.00 first order bought past its window."""
    referrer = MemberFactory()
    friend = MemberFactory(referrer=referrer)
    referral = referral_record(referee_id=friend.pk, referrer_id=referrer.pk)
    order = sale(
        StoreFactory(), friend, [("TEE", 1, "100")], now=timezone.now() - timedelta(days=WINDOW + 1)
    )
    referral_first_order(order_id=order.pk)
    referral_rewards_give_due()
    referral.refresh_from_db()
    assert referral.status == Referral.Status.REWARDED
    return referral


def refund(referral, amount, refund_id, capture):
    """HQ refunds the first order after its window; the event's handlers run."""
    order = referral.first_order
    order.refresh_from_db()
    with capture(execute=True):
        return order_refund(order=order, refund_id=refund_id, amount=Decimal(amount))


def reward(referral, side) -> ReferralReward:
    return ReferralReward.objects.select_related("coupon").get(referral=referral, side=side)


def test_a_full_refund_takes_back_points_growth_and_unused_coupons(
    rewarded, django_capture_on_commit_callbacks
):
    referrer, friend = rewarded.referrer, rewarded.referee
    before = {m.pk: points_available(m) for m in (referrer, friend)}

    made = refund(rewarded, "100.00", "late", django_capture_on_commit_callbacks)

    mine, theirs = reward(rewarded, "referrer"), reward(rewarded, "referee")
    assert (mine.clawback_refund, mine.points_back, mine.growth_back) == (made, 100, 10)
    assert (theirs.clawback_refund, theirs.points_back, theirs.growth_back) == (made, 50, 0)
    assert mine.clawed_back_at and theirs.clawed_back_at
    assert points_available(referrer) == before[referrer.pk] - 100
    assert points_available(friend) == before[friend.pk] - 50
    assert mine.coupon.status == theirs.coupon.status == Coupon.Status.VOID
    assert not mine.coupon_kept and not theirs.coupon_kept
    assert list(
        GrowthEntry.objects.filter(cause_kind="referral_back").values_list("member", "amount")
    ) == [(referrer.pk, -10)]
    assert AuditEntry.objects.filter(action="referral_reward.claw_back").count() == 2
    assert ledger_problems() == {}
    rewarded.refresh_from_db()
    assert rewarded.status == Referral.Status.REWARDED  # the phone was rewarded, once ever
    _count, invited = member_referrals(referrer)
    assert [friend["reward_status"] for friend in invited] == ["taken_back"]


def test_points_already_spent_are_recorded_not_taken_into_the_negative(
    rewarded, django_capture_on_commit_callbacks
):
    friend = rewarded.referee
    spend = points_available(friend) - 20  # leaves 20 of the reward's 50
    points_redeem(member=friend, amount=spend, cause_kind="admin", key="spend", description="x")

    refund(rewarded, "100.00", "late", django_capture_on_commit_callbacks)

    theirs = reward(rewarded, "referee")
    assert (theirs.points_back, theirs.points_spent) == (20, 30)
    assert points_available(friend) == 0
    assert ledger_problems() == {}


def test_a_used_coupon_is_kept_and_the_reward_says_so(rewarded, django_capture_on_commit_callbacks):
    used = reward(rewarded, "referee").coupon
    Coupon.objects.filter(pk=used.pk).update(status=Coupon.Status.USED, used_at=timezone.now())

    refund(rewarded, "100.00", "late", django_capture_on_commit_callbacks)

    theirs = reward(rewarded, "referee")
    assert theirs.coupon_kept and theirs.coupon.status == Coupon.Status.USED
    assert theirs.points_back == 50  # the rest is still taken back
    assert reward(rewarded, "referrer").coupon.status == Coupon.Status.VOID


def test_a_partial_refund_takes_back_only_once_below_the_rules_minimum(
    rewarded, django_capture_on_commit_callbacks
):
    refund(rewarded, "30.00", "r1", django_capture_on_commit_callbacks)  # 70.00 ≥ 60.00 kept
    assert not ReferralReward.objects.filter(clawed_back_at__isnull=False).exists()

    second = refund(rewarded, "20.00", "r2", django_capture_on_commit_callbacks)  # 50.00 left

    assert set(ReferralReward.objects.values_list("clawback_refund", flat=True)) == {second.pk}
    third = refund(rewarded, "50.00", "r3", django_capture_on_commit_callbacks)
    assert not referral_rewards_claw_back(refund_id=third.pk)  # taken back already
    assert (
        Entry.objects.filter(
            cause_kind="refund", cause_id=third.pk, reverses__cause_kind="referral"
        ).count()
        == 0
    )


def test_a_retried_refund_event_takes_back_once(rewarded, django_capture_on_commit_callbacks):
    made = refund(rewarded, "100.00", "late", django_capture_on_commit_callbacks)
    event = Event.objects.get(name="order_refunded", payload__refund=made.pk)
    handler = "apps.referrals.handlers.claw_back_referral_rewards"
    EventHandling.objects.filter(event=event, handler=handler).delete()
    Event.objects.filter(pk=event.pk).update(status=Event.Status.PENDING)
    points = points_available(rewarded.referrer)

    assert event_dispatch(event_id=event.pk)
    assert referral_rewards_claw_back(refund_id=made.pk) == []

    assert points_available(rewarded.referrer) == points
    assert Entry.objects.filter(reverses__cause_kind="referral").count() == 2
    assert GrowthEntry.objects.filter(cause_kind="referral_back").count() == 1
    assert AuditEntry.objects.filter(action="referral_reward.claw_back").count() == 2


def test_a_refund_of_another_order_takes_nothing(rewarded, django_capture_on_commit_callbacks):
    later = sale(StoreFactory(), rewarded.referee, [("TEE", 1, "100")])
    with django_capture_on_commit_callbacks(execute=True):
        order_refund(order=later, refund_id="r1", amount=later.paid_amount)

    assert not ReferralReward.objects.filter(clawed_back_at__isnull=False).exists()


def test_the_console_lists_what_was_taken_back(
    rewarded, django_capture_on_commit_callbacks, admin_client
):
    made = refund(rewarded, "100.00", "late", django_capture_on_commit_callbacks)

    page = admin_client.get("/admin/referrals/referralreward/?clawed_back_at__isempty=0")

    assert page.status_code == 200
    text = page.content.decode()
    assert made.refund_no in text
    shown = ReferralRewardAdmin.taken_back(None, reward(rewarded, "referrer"))
    assert shown.startswith(made.refund_no)

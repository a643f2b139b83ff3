"""老带新: a referral is rewarded once the friend's first paid order has passed its return
window, never at sign-up; refunded, flagged, blacklisted and repeated phones earn nothing;
the referrer's limits hold; the job gives once however often it runs."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from apps.core.models import AuditEntry
from apps.coupons.models import Coupon
from apps.members.models import Member
from apps.members.services import member_delete, member_join_or_find, member_merge
from apps.orders.refunds import order_refund
from apps.points.models import Entry
from apps.referrals.models import (
    Referral,
    ReferralFlag,
    ReferralReward,
    ReferralRule,
    ReferrerBlock,
)
from apps.referrals.rewards import (
    referral_first_order,
    referral_flags_clear,
    referral_record,
    referral_refuse,
    referral_rewards_give_due,
)
from apps.tiers.models import GrowthEntry
from tests.core.factories import UserFactory
from tests.coupons.factories import CouponTemplateFactory
from tests.members.factories import MemberFactory
from tests.referrals.factories import sale
from tests.stores.factories import StoreFactory

pytestmark = pytest.mark.django_db

WINDOW = 7  # COMMISSION_FROZEN_DAYS in the test settings (the points' pending window)


@pytest.fixture
def rule():
    return ReferralRule.objects.create(
        name="老带新",
        referrer_points=100,
        referrer_growth=10,
        referee_points=50,
        referee_coupon=CouponTemplateFactory(
            name="好友券", claimable=False, auto_issue="referral", total_stock=None
        ),
        burst_count=3,
        burst_hours=1,
        purchase_days=30,
    )


@pytest.fixture
def store():
    return StoreFactory()


def referred(referrer, *, requester="", device="", joined_at=None) -> Referral:
    friend = MemberFactory(referrer=referrer, joined_at=joined_at or timezone.now())
    return referral_record(
        referee_id=friend.pk, referrer_id=referrer.pk, requester=requester, device=device
    )


def buy(store, referral: Referral, *, days_ago: float, amount="100"):
    order = sale(
        store,
        referral.referee,
        [("TEE", 1, amount)],
        now=timezone.now() - timedelta(days=days_ago),
    )
    referral_first_order(order_id=order.pk)
    return order


def referral_points(member) -> int:
    return sum(
        Entry.objects.filter(member=member, cause_kind="referral").values_list("amount", flat=True)
    )


def test_nothing_is_given_at_sign_up(rule):
    referrer = MemberFactory()
    referral = referred(referrer)

    referral_rewards_give_due()

    assert referral.status == Referral.Status.WAITING and referral.rule == rule
    assert not ReferralReward.objects.exists()
    assert referral_points(referrer) == 0


@pytest.mark.parametrize(
    ("bought_days_ago", "refunded", "status", "referrer_points", "friend_points"),
    [
        (WINDOW - 1, None, "ordered", 0, 0),  # still inside its return window
        (WINDOW + 1, None, "rewarded", 100, 50),  # past it
        (WINDOW + 1, "all", "void", 0, 0),  # refunded in full within the window
        (WINDOW + 1, "30.00", "rewarded", 100, 50),  # partly: 70.00 still paid
        (WINDOW - 1, "all", "ordered", 0, 0),  # refunded, window not over: decided later
    ],
)
def test_the_reward_waits_for_the_first_orders_return_window(
    rule, store, bought_days_ago, refunded, status, referrer_points, friend_points
):
    referrer = MemberFactory()
    referral = referred(referrer)
    order = buy(store, referral, days_ago=bought_days_ago)
    if refunded:
        amount = order.paid_amount if refunded == "all" else Decimal(refunded)
        order_refund(order=order, refund_id="r1", amount=amount)

    referral_rewards_give_due()

    referral.refresh_from_db()
    assert referral.status == status
    assert referral.first_order == order
    assert referral.due_at == order.paid_at + timedelta(days=WINDOW)
    assert referral_points(referrer) == referrer_points
    assert referral_points(referral.referee) == friend_points
    if status == "void":
        assert referral.void_reason == Referral.Void.REFUNDED


def test_a_reward_gives_points_growth_and_a_coupon_each_once(rule, store):
    referrer = MemberFactory()
    referral = referred(referrer)
    buy(store, referral, days_ago=WINDOW + 1)

    first = referral_rewards_give_due()
    second = referral_rewards_give_due()
    buy(store, referral, days_ago=1)  # a second order rewards nothing again
    referral_rewards_give_due(now=timezone.now() + timedelta(days=WINDOW + 1))

    assert first["rewarded"] == 1 and second["rewarded"] == 0
    assert sorted(ReferralReward.objects.values_list("side", "member", "points", "growth")) == [
        ("referee", referral.referee_id, 50, 0),
        ("referrer", referrer.pk, 100, 10),
    ]
    friend_reward = ReferralReward.objects.get(side="referee")
    coupon = Coupon.objects.get(cause_kind="referral_reward")
    assert (coupon.member_id, coupon.cause_id) == (referral.referee_id, friend_reward.pk)
    assert friend_reward.coupon == coupon
    assert list(GrowthEntry.objects.filter(cause_kind="referral").values_list("amount")) == [(10,)]
    assert referral_points(referrer) == 100 and referral_points(referral.referee) == 50


def test_a_later_order_does_not_replace_the_first(rule, store):
    referral = referred(MemberFactory())
    first = buy(store, referral, days_ago=2)
    buy(store, referral, days_ago=1)

    referral.refresh_from_db()
    assert referral.first_order == first


def test_a_first_order_paid_before_the_referral_was_recorded_counts(rule, store):
    referrer = MemberFactory()
    friend = MemberFactory(referrer=referrer)
    order = sale(store, friend, now=timezone.now() - timedelta(days=1))

    referral = referral_record(referee_id=friend.pk, referrer_id=referrer.pk)

    assert referral.first_order_id is None  # the instance as inserted
    referral.refresh_from_db()
    assert (referral.status, referral.first_order) == ("ordered", order)


def test_the_rules_minimum_counts_what_is_still_paid(rule, store):
    rule.min_order_amount = Decimal("80.00")
    rule.save()
    referral = referred(MemberFactory())
    order = buy(store, referral, days_ago=WINDOW + 1)
    order_refund(order=order, refund_id="r1", amount=Decimal("30.00"))

    referral_rewards_give_due()

    referral.refresh_from_db()
    assert (referral.status, referral.void_reason) == ("void", "refunded")


def test_a_referrers_daily_limit_puts_the_rest_off_to_the_next_day(rule, store):
    rule.daily_limit = 2
    rule.save()
    referrer = MemberFactory()
    referrals = [referred(referrer) for _ in range(3)]
    for referral in referrals:
        buy(store, referral, days_ago=WINDOW + 1)

    today = referral_rewards_give_due()
    tomorrow = referral_rewards_give_due(now=timezone.now() + timedelta(days=1))

    assert (today["rewarded"], today["later"]) == (2, 1)
    assert (tomorrow["rewarded"], tomorrow["later"]) == (1, 0)
    assert referral_points(referrer) == 300
    assert ReferralReward.objects.filter(side="referrer").values("given_on").distinct().count() == 2


def test_past_the_referrers_limit_in_all_only_the_friend_is_rewarded(rule, store):
    rule.total_limit = 1
    rule.save()
    referrer = MemberFactory()
    referrals = [referred(referrer) for _ in range(2)]
    for referral in referrals:
        buy(store, referral, days_ago=WINDOW + 1)

    referral_rewards_give_due()

    assert referral_points(referrer) == 100
    assert [referral_points(r.referee) for r in referrals] == [50, 50]
    assert Referral.objects.filter(status="rewarded").count() == 2


def test_a_phone_is_rewarded_as_a_friend_once_ever(rule, store, django_capture_on_commit_callbacks):
    referral = referred(MemberFactory())
    buy(store, referral, days_ago=WINDOW + 1)
    referral_rewards_give_due()
    phone = referral.referee.phone
    member_delete(member=referral.referee)

    with django_capture_on_commit_callbacks(execute=True):
        again, created = member_join_or_find(
            phone=phone, source="miniprogram", referrer=MemberFactory()
        )

    second = Referral.objects.get(referee=again)
    assert created and again.returning
    assert (second.status, second.void_reason) == ("void", "returning")
    assert second.phone_hash == Referral.objects.get(referee=referral.referee).phone_hash
    assert ReferralReward.objects.filter(side="referee").count() == 1


def test_a_friend_closing_their_account_before_the_reward_earns_nothing(
    rule, store, django_capture_on_commit_callbacks
):
    referral = referred(MemberFactory())
    buy(store, referral, days_ago=WINDOW + 1)
    with django_capture_on_commit_callbacks(execute=True):
        member_delete(member=referral.referee)

    referral_rewards_give_due()

    referral.refresh_from_db()
    assert (referral.status, referral.void_reason) == ("void", "closed")
    assert referral.phone_hash  # kept, as a keyed hash, when the phone is erased
    assert not ReferralReward.objects.exists()


def test_self_referral_is_refused(rule, django_capture_on_commit_callbacks):
    member = MemberFactory()
    assert referral_record(referee_id=member.pk, referrer_id=member.pk) is None

    # one person's two accounts: the second referred by the first, then merged
    other = MemberFactory()
    referral = referred(other)
    with django_capture_on_commit_callbacks(execute=True):
        member_merge(survivor=referral.referee, merged=other, actor=UserFactory(), reason="同一人")

    referral.refresh_from_db()
    assert (referral.status, referral.void_reason) == ("void", "self")


@pytest.mark.parametrize(
    ("field", "reason"), [("requester", "same_address"), ("device", "same_device")]
)
def test_many_friends_from_one_address_or_device_are_flagged_until_cleared(
    rule, store, field, reason
):
    referrer = MemberFactory()
    first = referred(referrer, **{field: "203.0.113.7"})
    second = referred(referrer, **{field: "203.0.113.7"})
    assert not ReferralFlag.objects.exists()  # two are below the rule's three
    third = referred(referrer, **{field: "203.0.113.7"})
    elsewhere = referred(referrer, **{field: "198.51.100.1"})
    for referral in (first, second, third, elsewhere):
        buy(store, referral, days_ago=WINDOW + 1)

    referral_rewards_give_due()

    flagged = set(ReferralFlag.objects.values_list("referral", "reason"))
    assert flagged == {(r.pk, reason) for r in (first, second, third)}
    assert set(Referral.objects.filter(status="rewarded").values_list("pk", flat=True)) == {
        elsewhere.pk
    }

    hq = UserFactory(is_staff=True)
    assert referral_flags_clear(referral=first, actor=hq, reason="认识的人") == 1
    referral_rewards_give_due()

    first.refresh_from_db()
    assert first.status == "rewarded"
    assert Referral.objects.filter(status="ordered").count() == 2
    audit = AuditEntry.objects.get(action="referral.clear")
    assert (audit.actor, audit.reason, audit.before) == (hq, "认识的人", {"flags": [reason]})


def test_bursts_outside_the_rules_hours_are_not_flagged(rule):
    referrer = MemberFactory()
    long_ago = timezone.now() - timedelta(hours=3)
    referred(referrer, requester="203.0.113.7", joined_at=long_ago)
    referred(referrer, requester="203.0.113.7", joined_at=long_ago)
    referred(referrer, requester="203.0.113.7")

    assert not ReferralFlag.objects.exists()


def test_a_friend_who_never_buys_is_flagged_and_earns_nothing_until_cleared(rule, store):
    referral = referred(MemberFactory(), joined_at=timezone.now() - timedelta(days=31))
    fresh = referred(MemberFactory())

    assert referral_rewards_give_due()["flagged"] == 1
    assert referral_rewards_give_due()["flagged"] == 0  # once
    buy(store, referral, days_ago=WINDOW + 1)
    referral_rewards_give_due()

    referral.refresh_from_db()
    assert referral.status == "ordered"
    assert list(ReferralFlag.objects.values_list("referral", "reason")) == [
        (referral.pk, "no_purchase")
    ]
    assert not fresh.flags.exists()
    referral_flags_clear(referral=referral, actor=UserFactory(is_staff=True), reason="ok")
    referral_rewards_give_due()
    referral.refresh_from_db()
    assert referral.status == "rewarded"


def test_a_blacklisted_referrers_referrals_earn_nothing_while_listed(rule, store):
    referrer = MemberFactory()
    referral = referred(referrer)
    buy(store, referral, days_ago=WINDOW + 1)
    block = ReferrerBlock.objects.create(member=referrer, reason="刷单")

    referral_rewards_give_due()
    referral.refresh_from_db()
    assert referral.status == "ordered" and not ReferralReward.objects.exists()

    block.delete()
    referral_rewards_give_due()
    referral.refresh_from_db()
    assert referral.status == "rewarded"


def test_hq_refuses_a_referral_audited(rule, store):
    referral = referred(MemberFactory())
    buy(store, referral, days_ago=WINDOW + 1)

    assert referral_refuse(referral=referral, actor=UserFactory(is_staff=True), reason="假号")
    referral_rewards_give_due()

    referral.refresh_from_db()
    assert (referral.status, referral.void_reason) == ("void", "hq")
    assert AuditEntry.objects.filter(action="referral.refuse").count() == 1
    assert not ReferralReward.objects.exists()


def test_a_referrer_gone_leaves_the_friend_rewarded(rule, store):
    referrer = MemberFactory()
    referral = referred(referrer)
    buy(store, referral, days_ago=WINDOW + 1)
    Member.objects.filter(pk=referrer.pk).update(status=Member.Status.FROZEN)

    referral_rewards_give_due()

    assert list(ReferralReward.objects.values_list("side", flat=True)) == ["referee"]

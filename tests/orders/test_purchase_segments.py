"""What other apps learn from purchases: segments by spend and recency, first-purchase bonus."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from apps.members.segments import SegmentCriteria, segment_members
from apps.orders.checkout import Checkout, order_place_paid
from apps.orders.models import Order
from apps.orders.pricing import LineInput
from apps.orders.refunds import order_refund
from apps.points.models import EarningRule
from apps.points.selectors import points_totals
from tests.members.factories import MemberFactory
from tests.stores.factories import StoreFactory

pytestmark = pytest.mark.django_db


def buy(member, store, amount, external_id, days_ago=0):
    order = order_place_paid(
        checkout=Checkout(
            store=store,
            channel="pos",
            member=member,
            lines=[LineInput(sku="X", quantity=1, unit_price=Decimal(amount))],
        ),
        external_id=external_id,
    )
    paid_at = timezone.now() - timedelta(days=days_ago)
    Order.objects.filter(pk=order.pk).update(paid_at=paid_at)
    return order


def test_segments_by_spend_in_a_period_and_by_days_without_a_purchase():
    store = StoreFactory()
    big, small, lapsed, never = (MemberFactory() for _ in range(4))
    buy(big, store, "300", "a")
    buy(big, store, "300", "b", days_ago=40)
    buy(small, store, "100", "c")
    refunded = buy(small, store, "500", "d")
    order_refund(order=refunded, refund_id="r", amount=Decimal("500"))
    buy(lapsed, store, "900", "e", days_ago=200)

    def members(**extra):
        return set(segment_members(SegmentCriteria(extra=extra)))

    assert members(spent={"min": "500", "days": 90}) == {big}
    assert members(spent={"min": "500", "days": 365}) == {big, lapsed}
    assert members(spent={"min": "0", "days": 30}) == {big, small, lapsed, never}
    assert members(no_purchase_days=90) == {lapsed, never}


def test_the_first_purchase_earns_its_bonus_once(django_capture_on_commit_callbacks):
    EarningRule.objects.create(
        name="首单送 200 积分", kind="bonus", event="first_purchase", points=200
    )
    member, store = MemberFactory(), StoreFactory()

    with django_capture_on_commit_callbacks(execute=True):
        buy(member, store, "10", "first")
    with django_capture_on_commit_callbacks(execute=True):
        buy(member, store, "10", "second")

    assert points_totals(member)["available"] == 200


def test_hq_saves_a_segment_by_spend_in_the_console(hq_client):
    from apps.members.models import Segment

    store, member = StoreFactory(), MemberFactory()
    buy(member, store, "800", "a")

    response = hq_client.post(
        "/admin/members/segment/add/",
        {"name": "高消费", "spent_0": "500", "spent_1": "90", "no_purchase_days": ""},
    )
    segment = Segment.objects.get(name="高消费")
    page = hq_client.get(f"/admin/members/segment/{segment.pk}/change/")

    assert response.status_code == 302
    assert segment.extra == {"spent": {"min": "500", "days": 90}}
    assert page.context["preview_count"] == 1
    assert 'name="spent_0" value="500"' in page.content.decode()


def test_a_merge_moves_orders_coupons_and_points_to_the_survivor(
    django_capture_on_commit_callbacks,
):
    from apps.coupons.issuing import coupon_claim
    from apps.coupons.models import Coupon
    from apps.members.services import member_merge
    from apps.points.selectors import points_available
    from apps.points.services import points_earn
    from tests.core.factories import UserFactory
    from tests.coupons.factories import CouponTemplateFactory

    survivor, merged, store = MemberFactory(), MemberFactory(), StoreFactory()
    buy(merged, store, "50", "old-account-order")
    coupon_claim(template=CouponTemplateFactory(), member=merged)
    points_earn(
        member=merged, amount=300, key="m", cause_kind="admin", description="t", pending=False
    )

    with django_capture_on_commit_callbacks(execute=True):
        member_merge(survivor=survivor, merged=merged, actor=UserFactory(), reason="同一人")

    assert Order.objects.get().member == survivor
    assert Coupon.objects.get().member == survivor
    assert points_available(survivor) == 300 and points_available(merged) == 0


def test_hq_filters_members_by_tier(hq_client):
    from apps.tiers.models import Tier
    from apps.tiers.services import tier_set_manual

    Tier.objects.create(code="normal", name="普通会员", rank=0, growth_threshold=0)
    gold = Tier.objects.create(code="gold", name="黄金会员", rank=1, growth_threshold=1000)
    MemberFactory(name="普通甲")
    golden = MemberFactory(name="黄金乙")
    tier_set_manual(member=golden, tier=gold, until=None, actor=None, reason="测试")

    gold_page = hq_client.get("/admin/members/member/?tier=gold").content.decode()
    normal_page = hq_client.get("/admin/members/member/?tier=normal").content.decode()

    assert "黄金乙" in gold_page and "普通甲" not in gold_page
    assert "普通甲" in normal_page and "黄金乙" not in normal_page


def test_an_order_earns_at_the_tier_it_was_bought_at_even_if_it_lifts_the_member():
    from apps.orders.checkout import order_quote
    from apps.tiers.models import Tier
    from apps.tiers.selectors import member_tier

    EarningRule.objects.create(name="每 1 元得 1 分", kind="rate", points_per_yuan=1)
    Tier.objects.create(code="normal", name="普通会员", rank=0, growth_threshold=0)
    silver = Tier.objects.create(
        code="silver", name="白银会员", rank=1, growth_threshold=100, points_multiplier=2
    )
    member, store = MemberFactory(), StoreFactory()
    checkout = Checkout(
        store=store,
        channel="pos",
        member=member,
        lines=[LineInput(sku="X", quantity=1, unit_price=Decimal("150"))],
    )

    quoted = order_quote(checkout).points_to_earn
    order = order_place_paid(checkout=checkout, external_id="lift")

    assert member_tier(member) == silver
    assert order.points_earned == quoted == 150

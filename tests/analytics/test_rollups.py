"""Daily store figures equal a hand count, a rerun writes the same, the cost is flat."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from apps.analytics.models import DailyStoreRollup
from apps.analytics.services import rollup_day, rollups_refresh
from apps.coupons.issuing import coupon_claim
from apps.members.models import StoreVisit
from apps.orders.checkout import Checkout, order_place_paid
from apps.orders.pricing import LineInput
from apps.orders.refunds import order_refund
from apps.points.models import EarningRule
from apps.points.services import points_earn
from tests.coupons.factories import CouponTemplateFactory
from tests.members.factories import MemberFactory
from tests.stores.factories import StoreFactory

pytestmark = pytest.mark.django_db


def sell(store, member, amount, n, **extra):
    return order_place_paid(
        checkout=Checkout(
            store=store,
            channel="pos",
            member=member,
            lines=[LineInput(sku="X", quantity=1, unit_price=Decimal(amount))],
            **extra,
        ),
        external_id=f"R-{store.pk}-{n}",
    )


def test_a_days_figures_per_store_equal_a_hand_count_and_a_rerun_changes_nothing():
    EarningRule.objects.create(name="每 1 元得 1 分", kind="rate", points_per_yuan=1)
    here, there = StoreFactory(), StoreFactory()
    regular = MemberFactory(home_store=here, joined_at=timezone.now() - timedelta(days=40))
    newcomer = MemberFactory(home_store=here)
    MemberFactory(home_store=there)
    StoreVisit.objects.create(member=regular, store=here)
    StoreVisit.objects.create(member=newcomer, store=here)
    points_earn(
        member=regular, amount=1000, key="p", cause_kind="admin", description="t", pending=False
    )
    coupon = coupon_claim(template=CouponTemplateFactory(), member=regular)
    sell(here, regular, "200.00", 1, coupon_codes=[coupon.code], points=500)
    refunded = sell(here, None, "50.00", 2)
    order_refund(order=refunded, refund_id="r", amount=Decimal("20.00"))
    sell(there, None, "80.00", 3)

    assert rollup_day(timezone.localdate()) == 2
    first = list(DailyStoreRollup.objects.order_by("store").values())
    assert rollups_refresh() == 2
    again = list(DailyStoreRollup.objects.order_by("store").values())

    row = DailyStoreRollup.objects.get(store=here)
    assert (row.new_members, row.visits, row.orders, row.member_orders) == (1, 2, 2, 1)
    assert (row.sales, row.member_sales, row.refunds) == (
        Decimal("225.00"),  # 200 − 20 coupon − 5 points, and 50
        Decimal("175.00"),
        Decimal("20.00"),
    )
    assert (row.coupons_used, row.coupon_sales) == (1, Decimal("200.00"))
    assert (row.points_issued, row.points_redeemed) == (175, 500)
    assert DailyStoreRollup.objects.get(store=there).sales == Decimal("80.00")
    assert [{**r, "computed_at": None} for r in first] == [
        {**r, "computed_at": None} for r in again
    ]


def test_the_rollup_costs_the_same_queries_for_many_orders_as_for_few():
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries(count):
        store = StoreFactory()
        for n in range(count):
            sell(store, MemberFactory(home_store=store), "10.00", n)
        with CaptureQueriesContext(connection) as captured:
            rollup_day(timezone.localdate())
        return len(captured)

    assert queries(3) == queries(30)

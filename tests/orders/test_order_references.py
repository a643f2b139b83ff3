"""An order's and a refund's points and growth entries name them as (kind, id): written once,
with the order's number from the start, and the database refuses a second one."""

from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.orders.checkout import Checkout, order_place, order_place_paid
from apps.orders.paying import order_cancel
from apps.orders.pricing import LineInput
from apps.orders.refunds import RefundLineInput, order_refund
from apps.points.models import EarningRule, Entry
from apps.points.selectors import points_available
from apps.points.services import points_earn, points_reverse, system_account
from apps.points.verification import ledger_problems
from apps.tiers.models import GrowthEntry, Tier
from tests.mall.factories import SkuFactory
from tests.members.factories import MemberFactory
from tests.stores.factories import StoreFactory

pytestmark = pytest.mark.django_db

D = Decimal


@pytest.fixture
def shop(db):
    Tier.objects.create(code="normal", name="普通会员", rank=0, growth_threshold=0)
    EarningRule.objects.create(name="每 1 元得 1 分", kind="rate", points_per_yuan=1)
    SkuFactory(sku="TEE", name="T恤", category="上衣", price=D("99"))
    member = MemberFactory()
    points_earn(
        member=member, amount=5000, cause_kind="admin", key="seed", description="t", pending=False
    )
    for kind in ("issuance", "pending"):
        system_account(kind)
    return {"store": StoreFactory(code="S001"), "member": member}


def checkout(shop, points=0):
    return Checkout(
        store=shop["store"],
        channel="pos",
        member=shop["member"],
        lines=[LineInput(sku="TEE", name="T恤", quantity=2, unit_price=D("99.00"))],
        points=points,
    )


def sell(shop, external_id="T-1", points=1000):
    return order_place_paid(checkout=checkout(shop, points), external_id=external_id)


def order_entries(order):
    return list(
        Entry.objects.filter(cause_kind="order", cause_id=order.pk)
        .order_by("kind")
        .values_list("kind", "description", "idempotency_key")
    )


def test_a_sale_writes_its_entries_once_with_its_number_and_changes_none(shop):
    with CaptureQueriesContext(connection) as captured:
        order = sell(shop)

    number = f"S001-{timezone.localdate():%Y%m%d}-0001"
    assert order.order_no == number
    assert order_entries(order) == [
        ("earn", f"订单 {number} 消费得积分", None),
        ("redeem", f"订单 {number} 积分抵现", None),
    ]
    growth = GrowthEntry.objects.get()
    assert (growth.cause_kind, growth.cause_id, growth.key) == ("order", order.pk, None)
    assert growth.description == f"订单 {number} 消费成长值"
    touched = [
        query["sql"]
        for query in captured.captured_queries
        if query["sql"].startswith("UPDATE")
        and ('"points_entry"' in query["sql"] or '"tiers_growthentry"' in query["sql"])
    ]
    assert touched == []


def test_an_order_placed_to_pay_later_names_its_number_in_the_points_it_takes(shop):
    with CaptureQueriesContext(connection) as captured:
        order = order_place(checkout=checkout(shop, points=1000))

    assert order.order_no == f"S001-{timezone.localdate():%Y%m%d}-0001"
    assert order_entries(order) == [("redeem", f"订单 {order.order_no} 积分抵现", None)]
    statements = [query["sql"] for query in captured.captured_queries]
    assert not [sql for sql in statements if sql.startswith('UPDATE "points_entry"')]


def test_the_database_refuses_a_second_earn_or_spend_for_an_order(shop):
    order = sell(shop)
    earn = Entry.objects.get(cause_kind="order", cause_id=order.pk, kind="earn")

    for kind in ("earn", "redeem"):
        with pytest.raises(IntegrityError), transaction.atomic():
            Entry.objects.create(
                kind=kind,
                from_account=earn.from_account,
                to_account=earn.to_account,
                amount=1,
                member=order.member,
                cause_kind="order",
                cause_id=order.pk,
                description="again",
            )

    assert Entry.objects.filter(cause_kind="order", cause_id=order.pk).count() == 2


def test_the_database_refuses_a_refund_reversing_an_entry_twice(shop):
    order = sell(shop)
    refund = order_refund(order=order, refund_id="r1", lines=[RefundLineInput("TEE", 1)])
    back = Entry.objects.get(cause_kind="refund", cause_id=refund.pk, reverses__kind="earn")

    with pytest.raises(IntegrityError), transaction.atomic():
        Entry.objects.create(
            kind="reverse",
            from_account=back.from_account,
            to_account=back.to_account,
            amount=1,
            member=order.member,
            cause_kind="refund",
            cause_id=refund.pk,
            reverses=back.reverses,
            description="again",
        )

    again, short = points_reverse(
        entry=back.reverses, cause_kind="refund", cause_id=refund.pk, description="again", amount=7
    )
    assert (again.pk, again.amount, short) == (back.pk, back.amount, 7 - back.amount)
    assert Entry.objects.filter(cause_kind="refund", cause_id=refund.pk).count() == 2


def test_a_replayed_refund_writes_nothing_twice(shop):
    order = sell(shop)

    first = order_refund(order=order, refund_id="r1", lines=[RefundLineInput("TEE", 1)])
    written = (Entry.objects.count(), GrowthEntry.objects.count(), points_available(shop["member"]))
    again = order_refund(order=order, refund_id="r1", lines=[RefundLineInput("TEE", 1)])

    assert again.pk == first.pk
    assert (
        Entry.objects.count(),
        GrowthEntry.objects.count(),
        points_available(shop["member"]),
    ) == written
    assert sorted(
        Entry.objects.filter(cause_kind="refund", cause_id=first.pk).values_list(
            "reverses__kind", "description"
        )
    ) == [
        ("earn", f"订单 {order.order_no} 退款扣回积分"),
        ("redeem", f"订单 {order.order_no} 退款退回积分"),
    ]
    back = GrowthEntry.objects.get(cause_kind="refund", cause_id=first.pk)
    assert back.amount == -(order.growth_earned // 2)
    assert ledger_problems() == {}


def test_a_cancelled_order_gives_its_points_back_once(shop):
    order = order_place(checkout=checkout(shop, points=1000))

    order_cancel(order=order)
    order_cancel(order=order)

    assert points_available(shop["member"]) == 5000
    back = Entry.objects.get(cause_kind="order", cause_id=order.pk, kind="reverse")
    assert (back.amount, back.description) == (1000, f"订单 {order.order_no} 取消退回积分")

"""POS checkout end to end: quote, order, refunds; idempotency storms; store isolation."""

import itertools
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.core.models import Event
from apps.core.reference import reference_forget
from apps.coupons.issuing import coupon_claim
from apps.coupons.models import Coupon
from apps.members.credentials import member_code_issue
from apps.orders.models import Order, OrderLine
from apps.points.models import EarningRule, Entry
from apps.points.selectors import points_available, points_totals
from apps.points.services import points_earn, store_account, system_account
from apps.points.verification import ledger_problems
from apps.tiers.models import GrowthEntry, Tier
from apps.tiers.services import tier_set_manual
from tests.conftest import run_together
from tests.coupons.factories import CouponTemplateFactory
from tests.mall.factories import SkuFactory
from tests.members.factories import MemberFactory
from tests.stores.factories import StoreFactory, pos_key_for

D = Decimal


@pytest.fixture
def shop(db):
    Tier.objects.create(code="normal", name="普通会员", rank=0, growth_threshold=0)
    gold = Tier.objects.create(
        code="gold", name="黄金会员", rank=1, growth_threshold=5000, discount_percent=D(5)
    )
    EarningRule.objects.create(name="每 1 元得 1 分", kind="rate", points_per_yuan=1)
    SkuFactory(sku="TEE", name="T恤", category="上衣", price=D("99"))
    SkuFactory(sku="SHOE", name="运动鞋", category="鞋履", price=D("399"), member_price=D("349"))
    SkuFactory(sku="VIP", name="会员专享包", category="配饰", price=D("59"), members_only=True)
    store = StoreFactory(code="S001")
    member = MemberFactory(phone="13900001111")
    tier_set_manual(member=member, tier=gold, until=None, actor=None, reason="测试")
    points_earn(
        member=member, amount=5000, key="seed", cause_kind="admin", description="t", pending=False
    )
    return {"store": store, "member": member, "gold": gold}


@pytest.fixture
def pos(api_client, shop):
    api_client.credentials(HTTP_AUTHORIZATION=f"Api-Key {pos_key_for(shop['store'])}")
    return api_client


keys = itertools.count()


def post(pos, path, body, key=None):
    return pos.post(
        f"/api/pos/v1/{path}",
        body,
        format="json",
        HTTP_IDEMPOTENCY_KEY=key or f"k{next(keys)}",
    )


def order_body(shop, **extra):
    return {
        "external_id": "T-0001",
        "member_id": shop["member"].pk,
        "lines": [
            {"sku": "SHOE", "quantity": 1, "unit_price": "399.00"},
            {"sku": "TEE", "quantity": 3, "unit_price": "33.33"},
        ],
        **extra,
    }


def shown_code(shop, **extra):
    """The order body of a member who shows their member code: they may spend points."""
    code, _expires = member_code_issue(member=shop["member"])
    body = order_body(shop, member_code=code, **extra)
    del body["member_id"]
    return body


def test_a_quote_itemises_every_step_and_writes_nothing(pos, shop):
    coupon = coupon_claim(template=CouponTemplateFactory(name="满100减20"), member=shop["member"])

    response = post(
        pos, "orders/quote", shown_code(shop, coupon_codes=[coupon.code, "NOPE"], points=2000)
    )

    assert response.status_code == 200, response.json()
    quote = response.json()
    assert quote["subtotal"] == "498.99"
    assert quote["member_discount"] == "55.00"  # 399 − 349, and 5% of 99.99
    assert quote["coupon_discount"] == "20.00"
    assert (quote["points_used"], quote["points_deduction"]) == (2000, "20.00")
    assert quote["payable"] == "403.99"
    assert quote["points_to_earn"] == 403
    assert [a["type"] for a in quote["applied"]] == ["member", "coupon", "points"]
    assert quote["rejected"] == [
        {"coupon_code": "NOPE", "code": "not_found", "message": "该会员没有这个券码的优惠券"}
    ]
    assert not Order.objects.exists() and Coupon.objects.get().status == "available"


def test_an_order_uses_the_coupon_and_points_earns_pending_points_and_growth(pos, shop):
    member = shop["member"]
    coupon = coupon_claim(template=CouponTemplateFactory(), member=member)

    response = post(pos, "orders", shown_code(shop, coupon_codes=[coupon.code], points=2000))

    assert response.status_code == 201, response.json()
    body = response.json()
    order = Order.objects.get()
    assert body["order_no"] == order.order_no == f"S001-{timezone.localdate():%Y%m%d}-0001"
    assert (body["status"], body["payable"], body["points_used"], body["points_earned"]) == (
        "paid",
        "403.99",
        2000,
        403,
    )
    assert sum(line.paid for line in OrderLine.objects.all()) == order.payable
    assert Coupon.objects.get().status == "used"
    assert points_available(member) == 3000
    assert points_totals(member)["pending"] == 403
    growth = GrowthEntry.objects.get(cause_kind="order", cause_id=order.pk)
    assert growth.amount == 403 and growth.description == f"订单 {order.order_no} 消费成长值"
    assert growth.key is None
    entries = Entry.objects.filter(cause_kind="order", cause_id=order.pk).order_by("kind")
    assert [(e.kind, e.description, e.idempotency_key) for e in entries] == [
        ("earn", f"订单 {order.order_no} 消费得积分", None),
        ("redeem", f"订单 {order.order_no} 积分抵现", None),
    ]
    assert order.payments.get().transaction_id == f"pos:{shop['store'].pk}:{order.order_no}"
    assert Event.objects.filter(name="order_paid").count() == 1
    assert ledger_problems() == {}


def test_a_non_member_sale_is_recorded_and_earns_nothing(pos, shop):
    body = order_body(shop)
    del body["member_id"]

    response = post(pos, "orders", body)

    assert response.status_code == 201
    assert response.json()["points_earned"] == 0 and response.json()["payable"] == "498.99"
    assert Order.objects.get().member is None


def test_members_only_products_need_a_member(pos, shop):
    response = post(
        pos, "orders/quote", {"lines": [{"sku": "VIP", "quantity": 1, "unit_price": "59"}]}
    )

    assert (response.status_code, response.json()["code"]) == (400, "invalid")
    assert "会员专享包" in response.json()["message"]


def test_the_member_code_is_spent_by_the_order(pos, shop):
    code, _expires = member_code_issue(member=shop["member"])
    body = order_body(shop, member_code=code)
    del body["member_id"]

    first = post(pos, "orders", body)
    second = post(pos, "orders", {**body, "external_id": "T-0002"})

    assert first.status_code == 201 and Order.objects.get().member == shop["member"]
    assert (second.status_code, second.json()["code"]) == (400, "expired")


def test_the_same_external_id_with_another_key_is_a_duplicate(pos, shop):
    first = post(pos, "orders", order_body(shop), key="a")
    replay = post(pos, "orders", order_body(shop), key="a")
    other = post(pos, "orders", order_body(shop), key="b")

    assert first.status_code == replay.status_code == 201
    assert replay.json() == first.json()
    assert (other.status_code, other.json()["code"]) == (409, "duplicate")
    assert Order.objects.count() == 1 and Entry.objects.filter(kind="earn").count() == 2


def test_another_stores_key_cannot_see_or_refund_the_order(pos, shop, api_client):
    post(pos, "orders", order_body(shop))
    from rest_framework.test import APIClient

    other = APIClient()
    other.credentials(HTTP_AUTHORIZATION=f"Api-Key {pos_key_for(StoreFactory())}")

    response = other.post(
        "/api/pos/v1/orders/T-0001/refunds", {"refund_id": "r1", "amount": "10"}, format="json"
    )

    assert (response.status_code, response.json()["code"]) == (404, "not_found")
    assert Order.objects.get().refunded_amount == 0


def test_partial_refunds_by_lines_then_amount_add_up_and_reverse_in_proportion(pos, shop):
    member = shop["member"]
    coupon = coupon_claim(template=CouponTemplateFactory(), member=member)
    post(pos, "orders", shown_code(shop, coupon_codes=[coupon.code], points=2000))
    order = Order.objects.get()

    by_line = post(
        pos, "orders/T-0001/refunds", {"refund_id": "r1", "lines": [{"sku": "TEE", "quantity": 1}]}
    )
    replay = post(
        pos, "orders/T-0001/refunds", {"refund_id": "r1", "lines": [{"sku": "TEE", "quantity": 1}]}
    )
    too_much = post(pos, "orders/T-0001/refunds", {"refund_id": "r2", "amount": "999.00"})
    rest = post(
        pos,
        "orders/T-0001/refunds",
        {"refund_id": "r3", "amount": str(order.payable - D(by_line.json()["amount"]))},
    )

    assert by_line.status_code == 201, by_line.json()
    assert replay.json()["refund_no"] == by_line.json()["refund_no"]
    assert (too_much.status_code, too_much.json()["code"]) == (400, "invalid")
    assert rest.status_code == 201, rest.json()
    order.refresh_from_db()
    assert order.status == "refunded" and order.refunded_amount == order.paid_amount
    assert points_available(member) == 5000  # the 2,000 used came back
    assert points_totals(member)["pending"] == 0  # the 403 earned were taken back
    assert sum(GrowthEntry.objects.filter(member=member).values_list("amount", flat=True)) == 0
    assert Coupon.objects.get().status == "available"  # restored on the full refund
    assert rest.json()["coupons_restored"] == 1
    assert ledger_problems() == {}


def test_a_refund_after_the_points_were_spent_keeps_their_value_from_the_cash(pos, shop, settings):
    member = shop["member"]
    post(pos, "orders", order_body(shop))
    # the points earned are pending: let them mature, then spend nearly everything
    from apps.points.services import points_mature_due, points_redeem

    points_mature_due(now=timezone.now() + timezone.timedelta(days=8))
    points_redeem(member=member, amount=5400, key="spend", cause_kind="admin", description="花掉")

    response = post(
        pos,
        "orders/T-0001/refunds",
        {"refund_id": "r1", "amount": str(Order.objects.get().payable)},
    )

    body = response.json()
    assert response.status_code == 201, body
    earned = Order.objects.get().points_earned
    assert body["points_reversed"] + body["shortfall_points"] == earned
    assert D(body["shortfall_cash"]) == (D(body["shortfall_points"]) / 100).quantize(D("0.01"))
    assert D(body["cash_refunded"]) == D(body["amount"]) - D(body["shortfall_cash"])
    assert ledger_problems() == {}


@pytest.mark.django_db(transaction=True)
def test_a_storm_of_identical_submissions_makes_one_order_and_one_award(shop):
    from rest_framework.test import APIClient

    raw_key = pos_key_for(shop["store"])
    bodies = itertools.cycle(["same-key"] * 6 + ["other-key-a", "other-key-b"])

    def submit():
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw_key}")
        response = client.post(
            "/api/pos/v1/orders", order_body(shop), format="json", HTTP_IDEMPOTENCY_KEY=next(bodies)
        )
        return response.status_code

    statuses = run_together(submit, 8)

    assert statuses.count(201) >= 1 and set(statuses) <= {201, 409}
    assert Order.objects.count() == 1
    assert Entry.objects.filter(kind="earn", cause_kind="order").count() == 1
    assert GrowthEntry.objects.filter(cause_kind="order").count() == 1
    assert ledger_problems() == {}


@pytest.mark.django_db(transaction=True)
def test_tills_selling_with_one_coupon_at_once_use_it_once(shop):
    from apps.coupons.errors import AlreadyUsed
    from apps.orders.checkout import Checkout, order_place_paid
    from apps.orders.pricing import LineInput

    coupon = coupon_claim(template=CouponTemplateFactory(), member=shop["member"])
    tills = itertools.count()

    def sale():
        try:
            return order_place_paid(
                checkout=Checkout(
                    store=shop["store"],
                    channel="pos",
                    member=shop["member"],
                    lines=[LineInput(sku="SHOE", quantity=1, unit_price=D("399"))],
                    coupon_codes=[coupon.code],
                ),
                external_id=f"TILL-{next(tills)}",
            ).order_no
        except AlreadyUsed:
            return "already_used"

    results = run_together(sale, 8)

    # A till whose quote already saw the coupon used sells without it, as its quote said.
    orders = list(Order.objects.all())
    (discounted,) = [order for order in orders if order.coupon_discount > 0]
    assert Coupon.objects.get().order_id == discounted.pk
    assert len(orders) + results.count("already_used") == 8
    assert Entry.objects.filter(kind="earn", cause_kind="order").count() == len(orders)
    assert ledger_problems() == {}


@pytest.mark.django_db(transaction=True)
def test_checkouts_and_refunds_of_one_member_at_once_never_deadlock(shop):
    from apps.orders.checkout import Checkout, order_place, order_place_paid
    from apps.orders.pricing import LineInput
    from apps.orders.refunds import order_refund

    member, store = shop["member"], shop["store"]

    def checkout(channel):
        return Checkout(
            store=store,
            channel=channel,
            member=member,
            lines=[LineInput(sku="TEE", quantity=1, unit_price=D("99"))],
            points=300,
        )

    def sale(n):
        return order_place_paid(checkout=checkout("pos"), external_id=f"E-{n}")

    paid = [sale(n) for n in range(4)]
    jobs = iter(
        [("refund", order) for order in paid]
        + [("sale", n) for n in range(10, 13)]
        + [("place", n) for n in range(3)]  # a mini-program order at the same store
    )

    def work():
        kind, what = next(jobs)
        if kind == "refund":
            return order_refund(order=what, refund_id="r", amount=what.payable).refund_no
        if kind == "place":
            return order_place(checkout=checkout("miniprogram")).order_no
        return sale(what).order_no

    results = run_together(work, 10)

    assert len(results) == 10 and all(results)
    assert Order.objects.filter(status="refunded").count() == 4
    assert Order.objects.filter(status="created").count() == 3
    assert ledger_problems() == {}


@pytest.mark.django_db(transaction=True)  # the request's transaction is the outermost
def test_a_sale_takes_no_savepoint(pos, shop):
    """Nothing in a sale carries on after an error, and a savepoint costs two round trips,
    most of them while the sale holds the accounts every sale needs."""
    coupon = coupon_claim(template=CouponTemplateFactory(), member=shop["member"])
    for kind in ("issuance", "pending"):  # made by a migration, and by the first sale when
        system_account(kind)  # an earlier test emptied the tables
    store_account(shop["store"])  # made by the store's first sale

    with CaptureQueriesContext(connection) as captured:
        response = post(pos, "orders", shown_code(shop, coupon_codes=[coupon.code], points=2000))

    assert response.status_code == 201, response.json()
    order = Order.objects.get(order_no=response.json()["order_no"])
    entries = Entry.objects.filter(cause_kind="order", cause_id=order.pk)
    assert sorted(entries.values_list("kind", flat=True)) == ["earn", "redeem"]
    statements = [q["sql"] for q in captured.captured_queries]
    sale = statements[: statements.index("COMMIT")]  # its events are handled after
    assert "BEGIN" in sale and not [sql for sql in sale if "SAVEPOINT" in sql]
    # written once, with the order's number: no entry is changed after it is written
    assert not [
        sql
        for sql in sale
        if sql.startswith("UPDATE") and ('"points_entry"' in sql or "tiers_growthentry" in sql)
    ]


@pytest.mark.parametrize("path", ["orders/quote", "orders"])
def test_a_sale_larger_than_an_order_can_hold_is_refused_and_records_nothing(pos, shop, path):
    """Found by the API fuzz: a total past 9,999,999,999.99 answered 500 (the amounts'
    columns hold 12 digits)."""
    lines = [{"sku": "TEE", "quantity": 9999, "unit_price": "1000101.00"}]
    entries = Entry.objects.count()

    response = post(pos, path, order_body(shop, lines=lines))

    assert response.status_code == 400
    assert response.json() == {
        "code": "invalid",
        "message": "一笔订单的金额最多为 9999999999.99 元。",
    }
    assert not Order.objects.exists()
    assert Entry.objects.count() == entries


def test_a_sale_of_the_most_an_order_holds_is_recorded(pos, shop):
    lines = [{"sku": "TEE", "quantity": 1, "unit_price": "9999999999.99"}]
    body = {"external_id": "T-0001", "lines": lines}

    response = post(pos, "orders", body)

    assert response.status_code == 201, response.json()
    assert Order.objects.get().subtotal == D("9999999999.99")


@pytest.mark.django_db(transaction=True)  # the request's transaction is the outermost
@pytest.mark.parametrize("top_tier", [False, True])
def test_a_sale_asks_the_database_few_times(pos, shop, top_tier):
    """Every statement costs a till's worker more than the database's answer
    (bench.pos_checkout): a sale to a member with a coupon and points spent is written in
    29 statements; a member in the top tier cannot move up, and is not asked their growth."""
    if not top_tier:  # gold is no longer the top
        Tier.objects.create(code="platinum", name="铂金会员", rank=2, growth_threshold=20000)
        reference_forget("tiers")  # as the console does when HQ saves a tier
    template = CouponTemplateFactory(per_member_limit=2)
    first = coupon_claim(template=template, member=shop["member"])
    warm = shown_code(shop, coupon_codes=[first.code], points=100, external_id="T-0000")
    assert post(pos, "orders", warm).status_code == 201  # the caches a running till has
    coupon = coupon_claim(template=template, member=shop["member"])
    body = shown_code(shop, coupon_codes=[coupon.code], points=2000)

    with CaptureQueriesContext(connection) as captured:
        response = post(pos, "orders", body)

    assert response.status_code == 201, response.json()
    statements = [q["sql"] for q in captured.captured_queries]
    sale = statements[: statements.index("COMMIT")]
    asked_growth = [sql for sql in sale if sql.startswith("SELECT COALESCE(SUM(")]
    assert len(asked_growth) == (0 if top_tier else 1)
    assert len(sale) <= (28 if top_tier else 29)

"""Online orders of a store's mall (一店一商城): the online order body on `orders/quote` and
`orders`, priced from the catalogue only, sold where HQ sells it, credited to the mall's store
and guide, stock reserved at placement (pickup: the store; delivery: HQ's warehouse) and given
back with the coupons and points when the order is cancelled or not paid, a fulfilment opened,
and a shipping fee by HQ's rules."""

import itertools
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.coupons.issuing import coupon_claim
from apps.coupons.models import Coupon
from apps.mall.errors import OutOfStock
from apps.mall.models import Reservation, Stock
from apps.members.models import Address
from apps.orders.builder import ItemInput, checkout_build
from apps.orders.checkout import ORDER_MOST, order_place
from apps.orders.errors import DuplicateOrder
from apps.orders.fulfilment import PICKUP_CODE_DIGITS
from apps.orders.models import Fulfilment, Order, ShippingRule
from apps.orders.paying import orders_expire_due
from apps.orders.refunds import RefundLineInput, order_refund
from apps.orders.shipping import order_shipping_fee
from apps.points.models import EarningRule
from apps.points.selectors import points_available
from apps.points.services import points_earn
from apps.points.verification import ledger_problems
from apps.tiers.models import Tier
from tests.conftest import run_together
from tests.coupons.factories import CouponTemplateFactory
from tests.mall.factories import ProductFactory, SkuFactory
from tests.members.factories import MemberFactory, member_client
from tests.stores.factories import StaffFactory, StoreFactory

ADDRESS = {
    "name": "林小姐",
    "phone": "139 0013 9000",
    "region": "浙江省/杭州市/西湖区",
    "detail": "文三路 1 号",
}


@pytest.fixture
def shop(db):
    """S003's mall: a T-shirt and a cap, stocked at the store (pickup) and in HQ's warehouse."""
    store, home = StoreFactory(code="S003"), StoreFactory(code="S001")
    tee = SkuFactory(sku="TEE", name="T恤", category="上衣/T恤", price=Decimal("99.00"))
    cap = SkuFactory(sku="CAP", name="帽子", category="配饰", price=Decimal("59.00"))
    for sku in (tee, cap):
        Stock.objects.create(sku=sku, store=store, on_hand=5)
        Stock.objects.create(sku=sku, store=None, on_hand=50)
    ShippingRule.objects.create(region="", fee=Decimal("10.00"), free_from=Decimal("199.00"))
    ShippingRule.objects.create(region="新疆维吾尔自治区", fee=Decimal("25.00"))
    ShippingRule.objects.create(
        region="浙江省/杭州市", fee=Decimal("6.00"), free_from=Decimal("99")
    )
    member = MemberFactory(home_store=home)
    points_earn(
        member=member, amount=5000, key="seed", cause_kind="admin", description="t", pending=False
    )
    return store, member


@pytest.fixture
def app(api_client, shop):
    return member_client(api_client, shop[1])


def body(fulfilment, lines=(("TEE", 2),), **extra):
    return {
        "store_code": "S003",
        "lines": [{"sku": sku, "quantity": quantity} for sku, quantity in lines],
        "fulfilment": fulfilment,
        **extra,
    }


def left(sku: str, store=None) -> tuple[int, int]:
    stock = Stock.objects.get(sku__sku=sku, store=store)
    return stock.on_hand, stock.reserved


@pytest.mark.django_db
def test_a_pickup_order_is_the_malls_store_s_reserved_there_with_a_pickup_code(app, shop):
    store, member = shop
    guide = StaffFactory(store=store)

    placed = app.post(
        "/api/v1/orders", body({"type": "pickup"}, guide_code=guide.guide_code), format="json"
    )

    assert placed.status_code == 201, placed.json()
    answer = placed.json()
    order = Order.objects.get(order_no=answer["order_no"])
    assert (answer["status"], answer["payable"]) == ("unpaid", "198.00")
    assert answer["pay_until"] and answer["order"]["order_no"] == order.order_no  # as before
    assert answer["payment"]["backend"] == "sandbox"
    assert (order.channel, order.store, order.guide, order.member) == ("mall", store, guide, member)
    assert order.shipping_fee == 0
    assert left("TEE", store) == (5, 2) and left("TEE") == (50, 0)
    fulfilment = order.fulfilment
    assert (fulfilment.kind, fulfilment.status) == ("pickup", "waiting")
    assert len(fulfilment.pickup_code) == PICKUP_CODE_DIGITS and fulfilment.pickup_code.isdigit()


@pytest.mark.django_db
def test_pickup_codes_are_random_not_sequential(app):
    codes = [
        Order.objects.get(
            order_no=app.post(
                "/api/v1/orders", body({"type": "pickup"}, lines=[("CAP", 1)]), format="json"
            ).json()["order_no"]
        ).fulfilment.pickup_code
        for _ in range(3)
    ]
    assert len(set(codes)) == 3
    assert sorted(int(code) for code in codes) != list(range(int(min(codes)), int(min(codes)) + 3))


@pytest.mark.django_db
def test_a_delivery_pays_the_shipping_fee_of_its_region_in_cash(app, shop):
    _store, member = shop
    quote = app.post(
        "/api/v1/orders/quote",
        body({"type": "delivery", "address": {**ADDRESS, "region": "新疆维吾尔自治区/乌鲁木齐市"}}),
        format="json",
    ).json()
    assert (quote["shipping_fee"], quote["payable"]) == ("25.00", "223.00")

    # points pay at most half the goods (59.00); the fee is paid on top of them, in cash
    quote = app.post(
        "/api/v1/orders/quote",
        body(
            {"type": "delivery", "address": {**ADDRESS, "region": "新疆维吾尔自治区"}},
            lines=[("CAP", 1)],
            points=5000,
        ),
        format="json",
    ).json()
    assert (quote["points_deduction"], quote["shipping_fee"], quote["payable"]) == (
        "29.50",
        "25.00",
        "54.50",
    )

    placed = app.post(
        "/api/v1/orders",
        body(
            {"type": "delivery", "address": {**ADDRESS, "region": "湖南省/长沙市"}},
            lines=[("CAP", 1)],
        ),
        format="json",
    )
    assert placed.status_code == 201, placed.json()
    order = Order.objects.get(order_no=placed.json()["order_no"])
    assert (order.subtotal, order.shipping_fee, order.payable) == (
        Decimal("59.00"),
        Decimal("10.00"),
        Decimal("69.00"),
    )
    assert left("CAP") == (50, 1) and left("CAP", shop[0]) == (5, 0)  # from HQ's warehouse
    fulfilment = order.fulfilment
    assert (fulfilment.kind, fulfilment.ship_from, fulfilment.pickup_code) == (
        "delivery",
        None,
        None,
    )
    assert (fulfilment.recipient, fulfilment.recipient_phone, fulfilment.region) == (
        "林小姐",
        "13900139000",
        "湖南省/长沙市",
    )
    assert member.pk == order.member_id


def test_an_order_comes_to_at_most_order_most_with_its_shipping_fee(app, shop):
    gold = SkuFactory(sku="GOLD", name="金砖", category="配饰", price=ORDER_MOST)
    Stock.objects.create(sku=gold, store=shop[0], on_hand=1)
    Stock.objects.create(sku=gold, store=None, on_hand=1)
    pickup = body({"type": "pickup"}, lines=[("GOLD", 1)])
    delivery = body(
        {"type": "delivery", "address": {**ADDRESS, "region": "新疆维吾尔自治区"}},
        lines=[("GOLD", 1)],
    )

    at_most = app.post("/api/v1/orders/quote", pickup, format="json")
    too_much = app.post("/api/v1/orders/quote", delivery, format="json")
    refused = app.post("/api/v1/orders", delivery, format="json", HTTP_ACCEPT_LANGUAGE="en")

    assert (at_most.status_code, at_most.json()["payable"]) == (200, str(ORDER_MOST))
    assert (too_much.status_code, too_much.json()["code"]) == (400, "invalid")
    assert refused.json() == {
        "code": "invalid",
        "message": f"An order may come to at most {ORDER_MOST} yuan.",
    }
    assert not Order.objects.exists()
    assert left("GOLD") == (1, 0) and left("GOLD", shop[0]) == (1, 0)


@pytest.mark.django_db
def test_the_most_specific_rule_wins_and_goods_above_its_amount_ship_free(shop):
    assert order_shipping_fee(region="浙江省/杭州市/西湖区", goods=Decimal("98")) == 6
    assert order_shipping_fee(region="浙江省/杭州市/西湖区", goods=Decimal("99")) == 0
    assert order_shipping_fee(region="浙江省/宁波市", goods=Decimal("198.99")) == 10
    assert order_shipping_fee(region="浙江省/宁波市", goods=Decimal("199")) == 0
    assert order_shipping_fee(region="新疆维吾尔自治区/喀什地区", goods=Decimal("9999")) == 25
    assert order_shipping_fee(region="浙江省杭州市", goods=Decimal("1")) == 10  # not a prefix
    ShippingRule.objects.all().delete()
    assert order_shipping_fee(region="浙江省", goods=Decimal("1")) == 0  # no rule: free


@pytest.mark.django_db
def test_a_pickup_ships_nothing(app):
    delivery = body({"type": "delivery", "address": ADDRESS}, lines=[("CAP", 1)])
    pickup = body({"type": "pickup"}, lines=[("CAP", 1)])
    assert (
        app.post("/api/v1/orders/quote", delivery, format="json").json()["shipping_fee"] == "6.00"
    )
    assert app.post("/api/v1/orders/quote", pickup, format="json").json()["shipping_fee"] == "0.00"


@pytest.mark.django_db
def test_a_tier_with_free_shipping_ships_free(shop, api_client):
    Tier.objects.create(code="vip", name="VIP", rank=0, growth_threshold=0, free_shipping=True)
    app = member_client(api_client, shop[1])  # every member starts in the first tier
    delivery = body({"type": "delivery", "address": ADDRESS}, lines=[("CAP", 1)])

    assert (
        app.post("/api/v1/orders/quote", delivery, format="json").json()["shipping_fee"] == "0.00"
    )


@pytest.mark.django_db
def test_price_tampering_is_refused_and_nothing_written(app):
    for line in ({"price": "0.01"}, {"unit_price": "0.01"}, {"payable": "1"}):
        sent = body({"type": "pickup"})
        sent["lines"][0].update(line)
        placed = app.post("/api/v1/orders", sent, format="json")
        assert (placed.status_code, placed.json()["code"]) == (400, "invalid"), line
    assert not Order.objects.exists() and not Reservation.objects.exists()


@pytest.mark.django_db
def test_only_what_hq_sells_at_the_store_can_be_bought_there(app, shop):
    elsewhere = SkuFactory(sku="ONLY-S009", product=ProductFactory(everywhere=False))
    elsewhere.product.stores.add(StoreFactory(code="S009"))
    listed = SkuFactory(sku="ONLY-S003", product=ProductFactory(everywhere=False))
    listed.product.stores.add(shop[0])
    later = SkuFactory(
        sku="LATER", product=ProductFactory(on_sale_from=timezone.now() + timedelta(days=1))
    )
    for sku in (elsewhere, listed, later):
        Stock.objects.create(sku=sku, store=shop[0], on_hand=5)

    def quote(sku):
        return app.post(
            "/api/v1/orders/quote", body({"type": "pickup"}, lines=[(sku, 1)]), format="json"
        )

    assert (quote("ONLY-S009").status_code, quote("ONLY-S009").json()["code"]) == (400, "invalid")
    assert quote("ONLY-S003").status_code == 200
    assert quote("LATER").status_code == 400


@pytest.mark.django_db
def test_without_a_store_code_it_is_the_home_store_s_and_without_one_refused(app, shop, api_client):
    sent = body({"type": "pickup"}, lines=[("CAP", 1)])
    del sent["store_code"]
    Stock.objects.create(
        sku=Stock.objects.filter(sku__sku="CAP").first().sku, store=shop[1].home_store, on_hand=1
    )

    placed = app.post("/api/v1/orders", sent, format="json")
    assert Order.objects.get(order_no=placed.json()["order_no"]).store == shop[1].home_store

    homeless = member_client(api_client, MemberFactory(home_store=None))
    refused = homeless.post("/api/v1/orders/quote", sent, format="json")
    assert (refused.status_code, refused.json()["code"]) == (400, "invalid")


@pytest.mark.django_db
def test_a_delivery_needs_an_address(app):
    refused = app.post("/api/v1/orders/quote", body({"type": "delivery"}), format="json")
    bad_phone = app.post(
        "/api/v1/orders/quote",
        body({"type": "delivery", "address": {**ADDRESS, "phone": "010 6552 9988"}}),
        format="json",
    )
    assert (refused.status_code, refused.json()["code"]) == (400, "invalid")
    assert (bad_phone.status_code, bad_phone.json()["code"]) == (400, "invalid")


@pytest.mark.django_db
def test_sold_out_is_409_with_nothing_written_nor_locked(app, shop):
    """Refused from a plain read, before any lock: a rush on a sold-out item never queues on
    its stock row (nor on the coupon's or the points' rows)."""
    _store, member = shop
    coupon = coupon_claim(template=CouponTemplateFactory(), member=member)

    with CaptureQueriesContext(connection) as queries:
        placed = app.post(
            "/api/v1/orders",
            body(
                {"type": "pickup"},
                lines=[("CAP", 1), ("TEE", 6)],
                coupon_codes=[coupon.code],
                points=500,
            ),
            format="json",
        )

    assert (placed.status_code, placed.json()["code"]) == (409, "out_of_stock")
    assert not [q for q in queries.captured_queries if "FOR UPDATE" in q["sql"]]
    assert not Order.objects.exists() and not Reservation.objects.exists()
    assert Coupon.objects.get().status == "available" and points_available(member) == 5000


@pytest.mark.django_db
def test_cancelling_gives_back_stock_coupons_and_points(app, shop):
    store, member = shop
    coupon = coupon_claim(template=CouponTemplateFactory(), member=member)
    placed = app.post(
        "/api/v1/orders",
        body({"type": "pickup"}, coupon_codes=[coupon.code], points=1000),
        format="json",
    ).json()
    assert left("TEE", store) == (5, 2) and points_available(member) == 4000

    cancelled = app.post(f"/api/v1/orders/{placed['order_no']}/cancel")

    assert cancelled.json()["status"] == "cancelled"
    assert left("TEE", store) == (5, 0)
    assert Fulfilment.objects.get().status == "cancelled"
    assert Coupon.objects.get().status == "available" and points_available(member) == 5000
    assert ledger_problems() == {}


@pytest.mark.django_db
def test_an_unpaid_order_expires_and_gives_back_stock_coupons_and_points(app, shop):
    _store, member = shop
    coupon = coupon_claim(template=CouponTemplateFactory(), member=member)
    app.post(
        "/api/v1/orders",
        body({"type": "delivery", "address": ADDRESS}, coupon_codes=[coupon.code], points=1000),
        format="json",
    )
    assert left("TEE") == (50, 2)

    assert orders_expire_due(now=timezone.now() + timedelta(minutes=16)) == 1

    assert (
        Order.objects.get().status == "cancelled" and Fulfilment.objects.get().status == "cancelled"
    )
    assert left("TEE") == (50, 0)
    assert Coupon.objects.get().status == "available" and points_available(member) == 5000
    assert ledger_problems() == {}


@pytest.mark.django_db
def test_placing_does_not_grow_in_queries_with_its_lines(app, shop, django_assert_max_num_queries):
    skus = [SkuFactory(sku=f"L{n}", price=10) for n in range(10)]
    for sku in skus:
        Stock.objects.create(sku=sku, store=None, on_hand=10)
    delivery = {"type": "delivery", "address": ADDRESS}
    app.post("/api/v1/orders", body(delivery, lines=[("CAP", 1)]), format="json")  # warm caches

    with CaptureQueriesContext(connection) as one:
        assert (
            app.post("/api/v1/orders", body(delivery, lines=[("L0", 1)]), format="json").status_code
            == 201
        )
    with django_assert_max_num_queries(len(one)):
        ten = app.post(
            "/api/v1/orders", body(delivery, lines=[(s.sku, 1) for s in skus]), format="json"
        )
    assert ten.status_code == 201, ten.json()


@pytest.mark.django_db
def test_placing_and_paying_an_online_order_takes_49_queries(
    app, shop, django_assert_max_num_queries
):
    """bench/mall_checkout's order: the catalogue read once, the coupons held and the stock
    locked by one statement each, and each answer (placed, paid) made from the rows the
    request wrote or locked, reading nothing again."""
    _store, member = shop
    first, second = (coupon_claim(template=CouponTemplateFactory(), member=member) for _ in "12")

    def place_and_pay(coupon):
        placed = app.post(
            "/api/v1/orders",
            body(
                {"type": "pickup"},
                lines=[("TEE", 1), ("CAP", 1)],
                coupon_codes=[coupon.code],
                points=500,
            ),
            format="json",
            HTTP_IDEMPOTENCY_KEY=coupon.code,
        )
        assert placed.status_code == 201, placed.json()
        return app.post(f"/api/v1/orders/{placed.json()['order_no']}/sandbox-pay")

    place_and_pay(first)  # warm caches
    with django_assert_max_num_queries(49):  # 44 with the coupon template cached, as a till has it
        assert place_and_pay(second).json()["status"] == "paid"


@pytest.mark.django_db(transaction=True)
def test_fifty_buyers_for_ten_items_get_ten_orders_and_never_oversell():
    store = StoreFactory(code="S003")
    hot = SkuFactory(sku="HOT", price=Decimal("9.90"))
    stock = Stock.objects.create(sku=hot, store=store, on_hand=10)
    buyers = [MemberFactory(home_store=store) for _ in range(50)]
    turns = itertools.count()  # each thread its own buyer

    def buy():
        checkout = checkout_build(
            store=store,
            channel="mall",
            member=buyers[next(turns)],
            items=[ItemInput(sku="HOT", quantity=1)],
        )
        try:
            order_place(checkout=replace(checkout, fulfilment="pickup"))
            return True
        except OutOfStock:
            return False

    results = run_together(buy, 50)

    stock.refresh_from_db()
    assert results.count(True) == 10
    assert Order.objects.filter(channel="mall").count() == 10 == Fulfilment.objects.count()
    assert (stock.on_hand, stock.reserved) == (10, 10)  # none left to sell, none oversold
    assert Reservation.objects.count() == 10


@pytest.mark.django_db
def test_a_delivery_to_an_address_of_the_book_copies_it_and_anothers_is_not_found(app, shop):
    _store, member = shop
    mine = Address.objects.create(
        member=member, name="林", phone="13900139000", region="浙江省/杭州市", detail="文三路"
    )
    theirs = Address.objects.create(
        member=MemberFactory(), name="王", phone="13800138000", region="上海市", detail="x"
    )

    refused = app.post(
        "/api/v1/orders", body({"type": "delivery", "address_id": theirs.pk}), format="json"
    )
    placed = app.post(
        "/api/v1/orders", body({"type": "delivery", "address_id": mine.pk}), format="json"
    )
    mine.delete()

    assert refused.status_code == 404
    fulfilment = Order.objects.get(order_no=placed.json()["order_no"]).fulfilment
    assert (fulfilment.recipient, fulfilment.region, fulfilment.address) == (
        "林",
        "浙江省/杭州市",
        "文三路",
    )


@pytest.mark.django_db
def test_without_a_guide_code_the_members_own_guide_at_that_store_is_credited(app, shop):
    store, member = shop
    own = StaffFactory(store=store)
    member.guide = own
    member.save(update_fields=["guide"])
    other_store_guide = StaffFactory()

    mine = app.post("/api/v1/orders", body({"type": "pickup"}), format="json").json()
    foreign = app.post(
        "/api/v1/orders",
        body({"type": "pickup"}, guide_code=other_store_guide.guide_code),
        format="json",
    ).json()

    assert Order.objects.get(order_no=mine["order_no"]).guide == own
    assert Order.objects.get(order_no=foreign["order_no"]).guide is None


def paid_delivery(app, lines=(("CAP", 1),)) -> Order:
    placed = app.post(
        "/api/v1/orders",
        body({"type": "delivery", "address": {**ADDRESS, "region": "湖南省"}}, lines=lines),
        format="json",
    ).json()
    app.post(f"/api/v1/orders/{placed['order_no']}/sandbox-pay")
    return Order.objects.get(order_no=placed["order_no"])


@pytest.mark.django_db
def test_a_full_refund_before_shipping_gives_the_fee_back_and_after_it_keeps_it(app):
    EarningRule.objects.create(name="每 1 元得 1 分", kind="rate", points_per_yuan=1)
    order = paid_delivery(app, lines=[("CAP", 1), ("TEE", 1)])
    assert (order.paid_amount, order.shipping_fee) == (Decimal("168.00"), Decimal("10.00"))

    part = order_refund(order=order, refund_id="r1", lines=[RefundLineInput(sku="CAP", quantity=1)])
    rest = order_refund(order=order, refund_id="r2", lines=[RefundLineInput(sku="TEE", quantity=1)])

    order.refresh_from_db()
    assert (part.amount, rest.amount) == (Decimal("59.00"), Decimal("109.00"))  # 99 + the fee
    assert (order.status, order.refunded_amount) == ("refunded", Decimal("168.00"))
    assert (order.points_earned, order.growth_earned) == (158, 158)  # the goods, not the fee
    assert part.points_reversed + rest.points_reversed == 158
    assert (
        order_refund(order=order, refund_id="r2", lines=[RefundLineInput(sku="TEE", quantity=1)])
        == rest
    )

    shipped = paid_delivery(app)
    Fulfilment.objects.filter(order=shipped).update(status=Fulfilment.Status.SHIPPED)
    kept = order_refund(order=shipped, refund_id="r3", amount=Decimal("59.00"))
    shipped.refresh_from_db()
    assert kept.amount == Decimal("59.00") and shipped.status == "refunded"
    assert order_refund(order=shipped, refund_id="r3", amount=Decimal("59.00")) == kept


def test_an_external_id_places_an_online_order_once_per_store(shop):
    store, member = shop
    checkout = replace(
        checkout_build(
            store=store, channel="mall", member=member, items=[ItemInput(sku="TEE", quantity=1)]
        ),
        fulfilment="pickup",
    )

    placed = order_place(checkout=checkout, external_id="YZ-1001")
    with pytest.raises(DuplicateOrder), transaction.atomic():
        order_place(checkout=replace(checkout, points=100), external_id="YZ-1001")

    assert (placed.external_id, placed.status) == ("YZ-1001", "created")
    assert Order.objects.get() == placed
    assert left("TEE", store) == (5, 1)  # the refused one reserved nothing
    assert points_available(member) == 5000  # nor took points

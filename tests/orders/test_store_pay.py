"""在线收款: a member pays a store an amount through its pay QR (API.md, stores/{code}/pay):
priced by the one checkout engine (tier discount where the store gives it, coupons,
points), placed unpaid and paid through the gateway, credited to the store and the guide;
a member who has joined no store joins this one as they pay."""

from decimal import Decimal

import pytest
from django.db import transaction

from apps.coupons.issuing import coupon_claim
from apps.coupons.models import Coupon
from apps.members.models import Member, StoreVisit
from apps.orders.errors import DuplicateOrder
from apps.orders.models import Order
from apps.orders.refunds import order_refund
from apps.orders.store_pay import store_pay_checkout, store_pay_place
from apps.points.models import EarningRule
from apps.points.selectors import points_available, points_totals
from apps.points.services import points_earn
from apps.points.verification import ledger_problems
from apps.tiers.models import Tier
from tests.coupons.factories import CouponTemplateFactory
from tests.members.factories import MemberFactory, member_client
from tests.stores.factories import StaffFactory, StoreFactory

pytestmark = pytest.mark.django_db

PAY = "/api/v1/stores/S002/pay"


@pytest.fixture
def shop(db):
    Tier.objects.create(
        code="normal", name="普通会员", rank=0, growth_threshold=0, discount_percent=5
    )
    EarningRule.objects.create(name="每 1 元得 1 分", kind="rate", points_per_yuan=1)
    store = StoreFactory(code="S002", name="杭州湖滨加盟店", kind="franchise")
    return {"store": store, "guide": StaffFactory(store=store, role="guide")}


@pytest.fixture
def member(shop):
    member = MemberFactory(home_store=shop["store"])
    points_earn(
        member=member, amount=3000, key="seed", cause_kind="admin", description="t", pending=False
    )
    return member


@pytest.fixture
def app(api_client, member):
    return member_client(api_client, member)


def test_the_pay_qr_shows_what_the_member_gets_here(app, member):
    coupon = coupon_claim(template=CouponTemplateFactory(name="满100减20"), member=member)
    coupon_claim(template=CouponTemplateFactory(channels="mall"), member=member)  # not here

    response = app.get(PAY)

    assert response.status_code == 200
    body = response.json()
    assert body["store"]["code"] == "S002" and body["store"]["name"] == "杭州湖滨加盟店"
    benefits = body["member_benefits"]
    assert benefits["joined"] is True and benefits["join_saves"] is None
    assert benefits["tier"] == {"code": "normal", "name": "普通会员"}
    assert benefits["tier_discount_percent"] == "5.00"
    assert [c["code"] for c in benefits["coupons"]] == [coupon.code]
    assert benefits["points"] == {"available": 3000, "rate": 100, "cap": "0.50"}


def test_the_quote_suggests_the_best_coupon_and_the_points_when_nothing_was_chosen(app, member):
    best = coupon_claim(template=CouponTemplateFactory(amount=Decimal("20")), member=member)
    coupon_claim(template=CouponTemplateFactory(kind="cash", amount=Decimal("10")), member=member)

    quote = app.post(f"{PAY}/quote", {"amount": "128.00"}, format="json").json()

    assert quote["subtotal"] == "128.00" and quote["member_discount"] == "6.40"
    assert quote["payable"] == "121.60" and quote["join_saves"] is None
    # 121.60 − 20 = 101.60, half of which points may pay: all 3,000 points (30.00)
    assert quote["suggested"] == {"coupon_code": best.code, "points": 3000}

    chosen = app.post(
        f"{PAY}/quote",
        {"amount": "128.00", "coupon_codes": [best.code], "points": 3000},
        format="json",
    ).json()

    assert chosen["payable"] == "71.60" and chosen["suggested"] is None
    assert [a["type"] for a in chosen["applied"]] == ["member", "coupon", "points"]
    assert Coupon.objects.get(code=best.code).status == "available"  # a quote holds nothing


def test_no_tier_discount_where_hq_turned_it_off_for_the_store(app, shop):
    shop["store"].pay_tier_discount = False
    shop["store"].save()

    quote = app.post(f"{PAY}/quote", {"amount": "128.00", "points": 0}, format="json").json()

    assert quote["member_discount"] == "0.00" and quote["payable"] == "128.00"
    assert app.get(PAY).json()["member_benefits"]["tier_discount_percent"] == "0.00"


def test_a_store_that_takes_no_payments_refuses_them_clearly(app, shop):
    shop["store"].pay_enabled = False
    shop["store"].save()

    answers = [
        app.get(PAY),
        app.post(f"{PAY}/quote", {"amount": "10.00"}, format="json"),
        app.post(PAY, {"amount": "10.00"}, format="json"),
    ]

    assert {(a.status_code, a.json()["code"]) for a in answers} == {(403, "store_pay_off")}
    assert "S002" in answers[2].json()["message"]
    assert not Order.objects.exists()


def test_a_closed_store_takes_no_payment(app, shop):
    shop["store"].status = "closed"
    shop["store"].save()

    response = app.post(PAY, {"amount": "10.00"}, format="json")

    assert (response.status_code, response.json()["code"]) == (403, "store_closed")
    assert not Order.objects.exists()


@pytest.mark.parametrize("amount", ["0", "0.00", "-5", "12.345", "50000.01", "abc", None])
def test_an_amount_must_be_positive_in_fen_and_at_most_store_pay_most(app, amount):
    response = app.post(PAY, {"amount": amount}, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid" and "amount" in response.json()["fields"]
    assert not Order.objects.exists()


def test_unknown_store_is_not_found(app):
    assert app.get("/api/v1/stores/NOPE/pay").status_code == 404


def test_a_payment_is_an_order_of_the_store_paid_through_the_gateway(app, member, shop):
    coupon = coupon_claim(template=CouponTemplateFactory(), member=member)
    guide = shop["guide"]

    placed = app.post(
        PAY,
        {
            "amount": "128.00",
            "coupon_codes": [coupon.code],
            "points": 1000,
            "guide_code": guide.guide_code,
        },
        format="json",
        HTTP_IDEMPOTENCY_KEY="pay-1",
    )

    assert placed.status_code == 201, placed.json()
    body = placed.json()
    assert set(body) == {"order_no", "payable", "gateway", "params"}
    assert body["payable"] == "91.60" and body["gateway"] == "sandbox"  # 128 − 6.40 − 20 − 10
    order = Order.objects.get(order_no=body["order_no"])
    assert (order.channel, order.store, order.guide, order.status) == (
        "store_pay",
        shop["store"],
        guide,
        "created",
    )
    assert [(line.sku, line.unit_price) for line in order.lines.all()] == [
        ("STORE-PAY", Decimal("128.00"))
    ]
    assert points_available(member) == 2000
    assert Coupon.objects.get(code=coupon.code).status == "locked"

    paid = app.post(f"/api/v1/orders/{body['order_no']}/sandbox-pay")

    assert paid.status_code == 200 and paid.json()["status"] == "paid"
    order.refresh_from_db()
    assert (order.points_earned, order.growth_earned) == (91, 91)
    assert points_totals(member)["pending"] == 91
    assert Coupon.objects.get(code=coupon.code).status == "used"
    assert ledger_problems() == {}


def test_a_replayed_payment_places_one_order(app):
    body = {"amount": "50.00", "points": 0}

    first = app.post(PAY, body, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    again = app.post(PAY, body, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    other = app.post(PAY, {**body, "amount": "60.00"}, format="json", HTTP_IDEMPOTENCY_KEY="k1")

    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert other.status_code == 409 and other.json()["code"] == "idempotency_conflict"
    assert Order.objects.count() == 1


def test_the_owner_refunds_a_store_payment_like_any_order(app, member):
    order_no = app.post(PAY, {"amount": "100.00", "points": 0}, format="json").json()["order_no"]
    app.post(f"/api/v1/orders/{order_no}/sandbox-pay")
    order = Order.objects.get(order_no=order_no)

    refund = order_refund(order=order, refund_id="r1", amount=Decimal("95.00"))

    order.refresh_from_db()
    assert refund.amount == Decimal("95.00") and order.status == "refunded"
    assert points_totals(member)["pending"] == 0
    assert ledger_problems() == {}


@pytest.fixture
def newcomer(api_client, shop):
    """Signed in (so a member of the brand) but joined to no store yet."""
    member = MemberFactory(home_store=None)
    return member, member_client(api_client, member)


def test_a_member_of_no_store_sees_what_joining_saves(newcomer):
    _member, app = newcomer

    benefits = app.get(f"{PAY}?amount=128.00").json()["member_benefits"]
    quote = app.post(f"{PAY}/quote", {"amount": "128.00"}, format="json").json()

    assert benefits["joined"] is False and benefits["join_saves"] == "6.40"
    assert quote["payable"] == "121.60" and quote["join_saves"] == "6.40"


def test_a_member_of_no_store_joins_as_they_pay_credited_to_the_qrs_guide(newcomer, shop):
    member, app = newcomer
    guide = shop["guide"]
    body = {"amount": "128.00", "guide_code": guide.guide_code}

    refused = app.post(PAY, body, format="json")

    assert (refused.status_code, refused.json()["code"]) == (403, "join_required")
    assert not Order.objects.exists() and not StoreVisit.objects.exists()
    assert Member.objects.get(pk=member.pk).home_store is None

    placed = app.post(PAY, {**body, "join": True}, format="json")

    assert placed.status_code == 201 and placed.json()["payable"] == "121.60"
    member.refresh_from_db()
    assert (member.home_store, member.guide) == (shop["store"], guide)
    assert StoreVisit.objects.get().guide == guide
    assert Order.objects.get().guide == guide


def test_joining_as_you_pay_never_moves_a_members_home_store(api_client, shop):
    home = StoreFactory(code="S001")
    member = MemberFactory(home_store=home)
    app = member_client(api_client, member)

    placed = app.post(PAY, {"amount": "20.00", "join": True}, format="json")

    assert placed.status_code == 201
    member.refresh_from_db()
    assert member.home_store == home and not StoreVisit.objects.exists()
    assert Order.objects.get().store == shop["store"]


def test_the_page_in_wechats_browser_fixes_the_payment_there(app):
    placed = app.post(PAY, {"amount": "20.00", "channel": "wechat_browser"}, format="json")

    assert placed.status_code == 201
    assert Order.objects.get().payment_channel == "wechat_browser"
    refused = app.post(PAY, {"amount": "20.00", "channel": "alipay"}, format="json")
    assert refused.status_code == 400 and "channel" in refused.json()["fields"]
    assert Order.objects.count() == 1


def test_an_external_id_places_a_store_payment_once_and_a_refused_one_joins_no_one(newcomer, shop):
    member, _app = newcomer
    other = MemberFactory(home_store=None)

    def place(payer, amount):
        checkout = store_pay_checkout(store=shop["store"], member=payer, amount=Decimal(amount))
        return store_pay_place(checkout=checkout, join=True, external_id="IMPORT-1")

    placed = place(member, "20.00")
    with pytest.raises(DuplicateOrder), transaction.atomic():
        place(other, "30.00")

    assert (placed.external_id, placed.status, placed.payable) == (
        "IMPORT-1",
        "created",
        Decimal("19.00"),
    )
    assert Order.objects.get() == placed
    member.refresh_from_db()
    other.refresh_from_db()
    assert (member.home_store, other.home_store) == (shop["store"], None)

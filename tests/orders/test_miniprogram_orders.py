"""Mini-program orders: placed (coupons held, points taken), paid through the payment
backend, or cancelled / expired with everything given back."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from apps.coupons.issuing import coupon_claim
from apps.coupons.models import Coupon
from apps.orders.models import Order
from apps.orders.paying import orders_expire_due
from apps.orders.payments import SandboxPaymentBackend
from apps.points.models import EarningRule, Entry
from apps.points.selectors import points_available, points_totals
from apps.points.services import points_earn
from apps.points.verification import ledger_problems
from tests.coupons.factories import CouponTemplateFactory
from tests.mall.factories import SkuFactory
from tests.members.factories import MemberFactory, member_client
from tests.stores.factories import StoreFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def member(db):
    EarningRule.objects.create(name="每 1 元得 1 分", kind="rate", points_per_yuan=1)
    SkuFactory(sku="BAG", name="帆布包", category="配饰", price=Decimal("129.00"))
    member = MemberFactory(home_store=StoreFactory(code="S009"))
    points_earn(
        member=member, amount=3000, key="seed", cause_kind="admin", description="t", pending=False
    )
    return member


@pytest.fixture
def app(api_client, member):
    return member_client(api_client, member)


def place(app, coupon=None, points=0):
    body = {"lines": [{"sku": "BAG", "quantity": 1}], "points": points}
    if coupon:
        body["coupon_codes"] = [coupon.code]
    return app.post("/api/v1/orders", body, format="json")


def test_place_then_pay_in_the_sandbox(app, member, api_client):
    coupon = coupon_claim(template=CouponTemplateFactory(), member=member)

    placed = place(app, coupon, points=1000)

    assert placed.status_code == 201, placed.json()
    order_no = placed.json()["order"]["order_no"]
    assert placed.json()["order"]["payable"] == "99.00"  # 129 − 20 − 10 (1,000 points)
    assert placed.json()["payment"]["backend"] == "sandbox"
    assert Coupon.objects.get().status == "locked" and points_available(member) == 2000
    taken = Entry.objects.get(kind="redeem", member=member)
    assert (taken.cause_kind, taken.cause_id) == ("order", Order.objects.get(order_no=order_no).pk)
    assert taken.description == f"订单 {order_no} 积分抵现"

    paid = app.post(f"/api/v1/orders/{order_no}/sandbox-pay")

    assert paid.status_code == 200 and paid.json()["status"] == "paid"
    assert Coupon.objects.get().status == "used"
    assert points_totals(member)["pending"] == 99
    assert app.get("/api/v1/me/orders").json()["results"][0]["order_no"] == order_no
    assert ledger_problems() == {}


def test_a_gateway_notice_is_verified_and_a_repeat_changes_nothing(app, api_client):
    order = Order.objects.get(order_no=place(app).json()["order"]["order_no"])
    notice = SandboxPaymentBackend().notice(order)

    first = api_client.post("/api/v1/payments/notify", notice, content_type="application/json")
    again = api_client.post("/api/v1/payments/notify", notice, content_type="application/json")
    forged = api_client.post(
        "/api/v1/payments/notify",
        notice.replace(b'"signature": "', b'"signature": "0'),
        content_type="application/json",
    )

    assert first.status_code == again.status_code == 200
    assert (forged.status_code, forged.json()["code"]) == (400, "invalid")
    assert Order.objects.get().payments.count() == 1


def test_cancelling_or_not_paying_gives_coupons_and_points_back(app, member):
    coupon = coupon_claim(template=CouponTemplateFactory(), member=member)
    cancelled = place(app, coupon, points=1000).json()["order"]["order_no"]

    app.post(f"/api/v1/orders/{cancelled}/cancel")
    assert Coupon.objects.get().status == "available" and points_available(member) == 3000

    unpaid = place(app, coupon, points=500).json()["order"]["order_no"]
    assert orders_expire_due(now=timezone.now() + timedelta(minutes=16)) == 1
    assert orders_expire_due(now=timezone.now() + timedelta(minutes=16)) == 0

    assert Order.objects.get(order_no=unpaid).status == "cancelled"
    assert Coupon.objects.get().status == "available" and points_available(member) == 3000
    late = app.post(f"/api/v1/orders/{unpaid}/sandbox-pay")
    assert (late.status_code, late.json()["code"]) == (400, "expired")
    assert ledger_problems() == {}


def test_members_never_price_their_own_basket(app):
    unknown = app.post(
        "/api/v1/orders/quote", {"lines": [{"sku": "NOPE", "quantity": 1}]}, format="json"
    )
    quote = app.post(
        "/api/v1/orders/quote",
        {"lines": [{"sku": "BAG", "quantity": 2, "unit_price": "0.01"}]},
        format="json",
    )

    assert (unknown.status_code, unknown.json()["code"]) == (400, "invalid")
    assert (quote.status_code, quote.json()["code"]) == (400, "invalid")  # tampering refused
    assert "unit_price" in str(quote.json())


def test_another_members_order_is_not_found(app, api_client):
    order_no = place(app).json()["order"]["order_no"]
    stranger = member_client(api_client, MemberFactory())

    assert stranger.get(f"/api/v1/orders/{order_no}").status_code == 404
    assert stranger.post(f"/api/v1/orders/{order_no}/cancel").status_code == 404

"""The API contract, byte for byte: one member's journey through the mini-program API and a
till's through the POS API, every answer compared with the transcript recorded in
tests/api_transcript.json. What differs between runs by nature — times, row ids, tokens and
random codes — is replaced by placeholders (codes and tokens numbered in order of
appearance); everything else (status codes, fields, their order, amounts, messages in both
languages) must be the same.

After an intended change of the contract, record it again with
`UPDATE_API_TRANSCRIPT=1 .venv/bin/pytest tests/test_api_transcript.py` and review the diff.
"""

import json
import os
import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from apps.coupons.models import CouponTemplate
from apps.mall.models import Sku, Stock
from apps.marketing.models import MessageTemplate
from apps.marketing.outbox import messages_queue, messages_send_due
from apps.orders.fulfilment import delivery_ship
from apps.orders.models import Order, ShippingRule
from apps.points.models import EarningRule
from apps.points.tasks import points_mature_task
from apps.referrals.rewards import referral_record
from apps.stores.models import Staff
from apps.tiers.models import Tier
from tests.mall.factories import SkuFactory
from tests.members.factories import MemberFactory
from tests.stores.factories import StaffFactory, StoreFactory, pos_key_for

pytestmark = pytest.mark.django_db

TRANSCRIPT = Path(__file__).with_name("api_transcript.json")
PHONE = "13800000000"  # SMS_TEST_CODES in the test settings: always accepts 123456

_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?([+-]\d{2}:\d{2}|Z)?")
_DATE = re.compile(r"(?<!\d)\d{4}-\d{2}-\d{2}(?!\d)")
_ORDER_DAY = re.compile(r"(?<=-)20\d{6}(?=-)")
_IDS = {"id", "member_id", "template_id"}
_SECRETS = {
    "token",
    "session",
    "referral_code",
    "code",
    "coupon_code",
    "prepay_id",
    "pickup_code",
}
_RANDOM_CODE = re.compile(r"^(6\d{17}|[0-9A-Z]{12,16})$")


class Normaliser:
    """Placeholders for what changes from run to run, the same placeholder for the same value
    everywhere in the transcript."""

    def __init__(self):
        self.secrets: dict[str, str] = {}

    def __call__(self, value, key=""):
        if isinstance(value, dict):
            return {k: self(v, k) for k, v in value.items()}
        if isinstance(value, list):
            return [self(item, key) for item in value]
        if isinstance(value, bool) or value is None:
            return value
        if isinstance(value, int) and key in _IDS:
            return f"<{key}>"  # rows of different tables may share a number, or not
        if isinstance(value, str):
            if key in _SECRETS and (key != "code" or _RANDOM_CODE.match(value)):
                return self.secrets.setdefault(value, f"<secret{len(self.secrets) + 1}>")
            return self.text(value)
        return value

    def text(self, value: str) -> str:
        for secret, placeholder in self.secrets.items():
            value = value.replace(secret, placeholder)
        value = _DATETIME.sub("<datetime>", value)
        value = _DATE.sub("<date>", value)
        return _ORDER_DAY.sub("<day>", value)


class Journey:
    def __init__(self, **collections: dict[str, int]):
        """`collections`: by a path's collection ("coupons"), the names of its ids in paths."""
        self.steps: list[dict] = []
        self.normalise = Normaliser()
        self.names: dict[re.Pattern, str] = {}
        for collection, names in collections.items():
            for name, pk in names.items():
                self.name(collection, name, pk)

    def name(self, collection: str, name: str, pk: int) -> None:
        """Paths show `/{collection}/<{name}>` for the id `pk`."""
        self.names[re.compile(rf"/{collection}/{pk}(?=[/?]|$)")] = f"/{collection}/<{name}>"

    def call(self, client, method, path, body=None, *, lang="zh-hans", key=None, label=""):
        extra = {"HTTP_ACCEPT_LANGUAGE": lang}
        if key:
            extra["HTTP_IDEMPOTENCY_KEY"] = key
        response = getattr(client, method)(path, body, format="json", **extra)
        if response.get("Content-Type", "").startswith("application/json"):
            payload = response.json()
        else:
            payload = f"<{response.get('Content-Type')}, {len(response.content)} bytes>"
        self.steps.append(
            {
                "call": f"{method.upper()} {self.shown(path)} {label}".strip(),
                "status": response.status_code,
                "body": self.normalise(payload),
            }
        )
        return payload

    def shown(self, path: str) -> str:
        for raw, name in self.names.items():
            path = raw.sub(name, path)
        return self.normalise.text(path)


def _brand():
    Tier.objects.create(code="normal", name="普通会员", rank=0, growth_threshold=0)
    Tier.objects.create(
        code="gold", name="黄金会员", rank=1, growth_threshold=300, discount_percent=Decimal(5)
    )
    EarningRule.objects.create(name="每 1 元得 1 分", kind="rate", points_per_yuan=1)
    SkuFactory(sku="TEE", name="T恤", category="上衣", price=Decimal("99"))
    SkuFactory(
        sku="SHOE",
        name="运动鞋",
        category="鞋履",
        price=Decimal("399"),
        member_price=Decimal("349"),
    )
    SkuFactory(
        sku="VIP", name="会员专享包", category="配饰", price=Decimal("59"), members_only=True
    )
    store = StoreFactory(code="S001", name="杭州文三路店", address="文三路 100 号")
    Stock.objects.create(sku=Sku.objects.get(sku="TEE"), store=None, on_hand=100)
    Stock.objects.create(sku=Sku.objects.get(sku="SHOE"), store=store, on_hand=3)
    guide = StaffFactory(store=store, role=Staff.Role.GUIDE)
    welcome = CouponTemplate.objects.create(
        name="新人满100减20", kind="threshold", threshold=100, amount=20, valid_days=30,
        claimable=True, total_stock=10, per_member_limit=1,
    )  # fmt: skip
    gone = CouponTemplate.objects.create(
        name="限量闪券", kind="cash", amount=10, valid_days=30, claimable=True, total_stock=0
    )
    exchange = CouponTemplate.objects.create(
        name="积分兑10元", kind="cash", amount=10, valid_days=30, points_price=200,
        per_member_limit=3,
    )  # fmt: skip
    return store, guide, welcome, gone, exchange


def _stock_and_shipping(store):
    """The mall's stock from now on: ten T-shirts in HQ's warehouse, the store's shoes sold
    out; and a fee."""
    Stock.objects.filter(sku__sku="TEE", store=None).update(on_hand=10)
    Stock.objects.filter(sku__sku="SHOE", store=store).update(on_hand=0)
    ShippingRule.objects.create(region="浙江省", fee=Decimal("8"), free_from=Decimal("199"))


def _messages_to(member_id: int) -> None:
    """HQ's notices: one in the inbox, sent by the outbox job; one by WeChat."""
    pickup = MessageTemplate.objects.create(
        name="取货提醒", channel="inbox", purpose="transactional", title="{name}，可以取货了",
        body="您在{store}的订单已备好", link="/m/orders",
    )  # fmt: skip
    MessageTemplate.objects.create(
        name="取货提醒（微信）", channel="wechat", purpose="transactional", body="{store}",
        wechat_template_id="PICKUP-TPL",
    )  # fmt: skip
    messages_queue(template=pickup, member_ids=[member_id], cause_kind="transcript", cause_id=1)
    messages_send_due()


def _friend_of(member_id: int) -> None:
    friend = MemberFactory(phone="13900000001", referrer_id=member_id)
    referral_record(referee_id=friend.pk, referrer_id=member_id)


def _without(body: dict, key: str) -> dict:
    return {name: value for name, value in body.items() if name != key}


def test_the_api_answers_as_recorded(settings):
    settings.POINTS_PENDING_DAYS = 0
    cache.clear()
    store, guide, welcome, gone, exchange = _brand()
    shoe, vip = (Sku.objects.get(sku=sku).product_id for sku in ("SHOE", "VIP"))
    journey = Journey(
        coupons={"welcome": welcome.pk, "gone": gone.pk, "exchange": exchange.pk},
        products={"shoe": shoe, "vip": vip},
    )
    app, till = APIClient(), APIClient()
    till.credentials(HTTP_AUTHORIZATION=f"Api-Key {pos_key_for(store)}")
    call = journey.call

    # The store's mall, before signing in
    call(app, "get", "/api/v1/stores/S001/mall")
    call(app, "get", "/api/v1/products?store=S001")
    call(app, "get", f"/api/v1/products/{vip}?store=S001")
    call(app, "get", "/api/v1/products?store=NOPE", lang="en")

    # Signing in
    call(app, "post", "/api/v1/auth/sms-code", {"phone": "12345"})
    call(app, "post", "/api/v1/auth/sms-code", {"phone": "12345"}, lang="en")
    call(app, "post", "/api/v1/auth/sms-code", {"phone": PHONE})
    call(app, "post", "/api/v1/auth/login", {"phone": PHONE, "code": "000000"})
    call(app, "post", "/api/v1/auth/login", {"phone": PHONE, "code": "000000"}, lang="en")
    signed = call(
        app,
        "post",
        "/api/v1/auth/login",
        {"phone": PHONE, "code": "123456", "store_code": "S001", "guide_code": guide.guide_code},
    )
    app.credentials(HTTP_AUTHORIZATION=f"Bearer {signed['token']}")
    call(app, "get", "/api/v1/me")
    call(app, "patch", "/api/v1/me", {"name": "王小明", "gender": "male", "birthday": "1990-05-01"})
    call(app, "patch", "/api/v1/me", {"birthday": "1991-05-01"})
    call(app, "patch", "/api/v1/me", {"birthday": "1991-05-01"}, lang="en")
    call(app, "get", "/api/v1/stores/S001")
    call(app, "get", "/api/v1/stores/NOPE")
    call(app, "post", "/api/v1/stores/S001/join", {})

    # The mall and the cart, signed in
    call(app, "get", "/api/v1/products?store=S001&q=会员")
    call(app, "get", f"/api/v1/products/{shoe}?store=S001")
    call(app, "get", "/api/v1/me/cart")
    cart = {
        "store_code": "S001",
        "lines": [{"sku": "TEE", "quantity": 2}, {"sku": "SHOE", "quantity": 1}],
    }
    call(app, "put", "/api/v1/me/cart", cart)
    wrong = {
        "store_code": "S001",
        "lines": [{"sku": "NOPE", "quantity": 1}, {"sku": "TEE", "quantity": 100}],
    }
    call(app, "put", "/api/v1/me/cart", wrong)
    call(
        app,
        "put",
        "/api/v1/me/cart",
        {**cart, "lines": [{"sku": "NOPE", "quantity": 1}]},
        lang="en",
    )
    call(app, "put", "/api/v1/me/cart", {**cart, "store_code": "NOPE"})
    call(app, "get", "/api/v1/me/cart")

    # Coupons
    call(app, "get", "/api/v1/coupons/claimable")
    call(app, "post", f"/api/v1/coupons/{welcome.pk}/claim", key="c1")
    call(app, "post", f"/api/v1/coupons/{welcome.pk}/claim", key="c2")
    call(app, "post", f"/api/v1/coupons/{gone.pk}/claim", key="c3")
    call(app, "post", f"/api/v1/coupons/{gone.pk}/claim", key="c4", lang="en")
    call(app, "post", "/api/v1/coupons/999999/claim", key="c5")
    call(app, "post", f"/api/v1/coupons/{exchange.pk}/exchange", key="x1")  # no points yet
    call(app, "post", f"/api/v1/coupons/{exchange.pk}/exchange")  # no key

    # Points earned at the till, by phone (earns, spends nothing)
    call(till, "get", "/api/pos/v1/store")
    call(till, "post", "/api/pos/v1/members/identify", {"phone": PHONE})
    call(till, "post", "/api/pos/v1/members/identify", {"member_code": "600000000000000000"})
    first_sale = {
        "external_id": "T-0001",
        "phone": PHONE,
        "guide_code": guide.guide_code,
        "lines": [
            {"sku": "SHOE", "quantity": 1, "unit_price": "399.00"},
            {"sku": "TEE", "quantity": 3, "unit_price": "33.33"},
        ],
    }
    call(till, "post", "/api/pos/v1/orders/quote", _without(first_sale, "external_id"))
    call(till, "post", "/api/pos/v1/orders", first_sale, key="o1")
    call(till, "post", "/api/pos/v1/orders", first_sale, key="o1", label="(replayed)")
    call(till, "post", "/api/pos/v1/orders", first_sale, key="o2", label="(same external id)")
    call(till, "post", "/api/pos/v1/orders", {**first_sale, "external_id": "T-0002", "points": 100},
         key="o3")  # fmt: skip
    call(app, "get", "/api/v1/me")
    call(app, "get", "/api/v1/me/points")
    points_mature_task.delay()  # the return window (0 days here) has passed
    call(app, "get", "/api/v1/me")

    # Spending at the till with the member present
    call(app, "post", f"/api/v1/coupons/{exchange.pk}/exchange", key="x2")
    call(app, "post", f"/api/v1/coupons/{exchange.pk}/exchange", key="x2", label="(replayed)")
    wallet = call(app, "get", "/api/v1/me/coupons")
    codes = [coupon["code"] for coupon in wallet["results"]]
    member_code = call(app, "get", "/api/v1/me/code")["code"]
    call(till, "post", "/api/pos/v1/members/identify", {"member_code": member_code})
    spend = {
        "external_id": "T-0003",
        "member_code": member_code,
        "lines": [{"sku": "SHOE", "quantity": 2, "unit_price": "399.00"}],
        "coupon_codes": [*codes, "NOSUCHCODE"],
        "points": 300,
    }
    call(till, "post", "/api/pos/v1/orders/quote", _without(spend, "external_id"))
    call(till, "post", "/api/pos/v1/orders", spend, key="o4")
    call(till, "post", "/api/pos/v1/orders", spend, key="o4", label="(replayed)")
    call(till, "post", "/api/pos/v1/orders/T-0003/refunds",
         {"refund_id": "R1", "lines": [{"sku": "SHOE", "quantity": 1}]}, key="r1")  # fmt: skip
    call(till, "post", "/api/pos/v1/orders/T-0003/refunds",
         {"refund_id": "R2", "amount": "100000.00"}, key="r2")  # fmt: skip
    call(till, "post", "/api/pos/v1/orders/T-0003/refunds",
         {"refund_id": "R3", "lines": [{"sku": "SHOE", "quantity": 1}]}, key="r3")  # fmt: skip
    call(till, "post", "/api/pos/v1/orders/T-0001/refunds",
         {"refund_id": "R4", "amount": "50.00"}, key="r4")  # fmt: skip
    call(till, "post", "/api/pos/v1/orders/NOPE/refunds", {"refund_id": "R5", "amount": "1.00"},
         key="r5")  # fmt: skip
    call(app, "get", "/api/v1/me/coupons")
    call(app, "get", "/api/v1/me/coupons?status=used")
    call(app, "get", "/api/v1/me/points")

    # A coupon redeemed at the till on its own
    wallet = call(app, "get", "/api/v1/me/coupons?status=available")
    if wallet["results"]:
        code = wallet["results"][0]["code"]
        call(till, "post", f"/api/pos/v1/coupons/{code}/redeem", {"external_id": "T-0009"},
             key="d1")  # fmt: skip
        call(till, "post", f"/api/pos/v1/coupons/{code}/redeem", {}, key="d2")
    call(till, "post", "/api/pos/v1/coupons/NOSUCHCODE0000/redeem", {}, key="d3")

    # Online orders
    basket = {
        "lines": [{"sku": "TEE", "quantity": 2}, {"sku": "VIP", "quantity": 1}],
        "points": 100,
    }
    call(app, "post", "/api/v1/orders/quote", basket)
    placed = call(app, "post", "/api/v1/orders", basket, key="p1")
    call(app, "post", "/api/v1/orders", basket, key="p1", label="(replayed)")
    order_no = placed["order"]["order_no"]
    call(app, "get", "/api/v1/me/orders")
    call(app, "get", f"/api/v1/orders/{order_no}")
    call(app, "post", f"/api/v1/orders/{order_no}/pay", {}, key="p2")
    call(app, "post", f"/api/v1/orders/{order_no}/sandbox-pay", {}, key="p3")
    call(app, "get", f"/api/v1/orders/{order_no}")
    call(app, "post", f"/api/v1/orders/{order_no}/cancel", {}, key="p4")
    refund_requests = f"/api/v1/orders/{order_no}/refund-requests"
    call(app, "post", refund_requests, {"amount": "9999.00", "reason": "other"}, key="q1")
    call(app, "post", refund_requests, {"amount": "9999.00", "reason": "other"}, key="q2",
         lang="en")  # fmt: skip
    asked = {"lines": [{"sku": "TEE", "quantity": 1}], "reason": "damaged", "reason_text": "开线"}
    requested = call(app, "post", refund_requests, asked, key="q3")
    call(app, "post", refund_requests, asked, key="q3", label="(replayed)")
    call(app, "post", refund_requests, {"amount": "1.00", "reason": "other"}, key="q4")
    call(app, "get", f"/api/v1/orders/{order_no}")
    journey.name("refund-requests", "refund_request", requested["id"])
    call(app, "post", f"{refund_requests}/{requested['id']}/cancel", {}, key="q5")
    second = call(app, "post", "/api/v1/orders", {"lines": [{"sku": "TEE", "quantity": 1}]},
                  key="p5")  # fmt: skip
    call(app, "post", f"/api/v1/orders/{second['order']['order_no']}/cancel", {}, key="p6")
    call(app, "get", "/api/v1/orders/S001-20000101-9999")

    # The store's mall: an address, a delivery with its shipping fee, a pickup, a sold-out SKU
    _stock_and_shipping(store)
    address = call(app, "post", "/api/v1/me/addresses", {
        "name": "王小明", "phone": "138 0000 0000", "region": "浙江省/杭州市/西湖区",
        "detail": "文三路 100 号",
    })  # fmt: skip
    journey.name("addresses", "address", address["id"])
    call(app, "post", "/api/v1/me/addresses", {"name": "王", "phone": "010 6552 9988",
         "region": "北京市", "detail": "x"})  # fmt: skip
    call(app, "get", "/api/v1/me/addresses")
    call(app, "patch", f"/api/v1/me/addresses/{address['id']}", {"detail": "文三路 200 号"})
    delivery = {
        "store_code": "S001",
        "lines": [{"sku": "TEE", "quantity": 1}],
        "fulfilment": {"type": "delivery", "address_id": address["id"]},
        "guide_code": guide.guide_code,
    }
    call(app, "post", "/api/v1/orders/quote", delivery)
    mall = call(app, "post", "/api/v1/orders", delivery, key="m1")
    call(app, "post", f"/api/v1/orders/{mall['order_no']}/cancel", {}, key="m2")
    pickup = {**delivery, "fulfilment": {"type": "pickup"}}
    call(app, "post", "/api/v1/orders", {**pickup, "lines": [{"sku": "SHOE", "quantity": 1}]},
         key="m3")  # fmt: skip
    call(app, "post", "/api/v1/orders", {**pickup, "lines": [{"sku": "TEE", "quantity": 1,
         "price": "0.01"}]}, key="m4")  # fmt: skip
    call(app, "delete", f"/api/v1/me/addresses/{address['id']}")
    call(app, "get", "/api/v1/me/points")
    call(app, "get", "/api/v1/me")

    # Messages: a notice in the inbox, read; one-time WeChat subscriptions accepted
    _messages_to(signed["member"]["id"])
    inbox = call(app, "get", "/api/v1/me/messages")
    message_id = inbox["results"][0]["id"]
    journey.name("messages", "message", message_id)
    call(app, "post", f"/api/v1/me/messages/{message_id}/read", {})
    call(app, "get", "/api/v1/me/messages")
    call(app, "post", "/api/v1/me/messages/999999/read", {})
    call(app, "post", "/api/v1/me/messages/999999/read", {}, lang="en")
    call(app, "put", "/api/v1/me/subscriptions", {"templates": {"PICKUP-TPL": 1}}, key="s1")
    call(app, "put", "/api/v1/me/subscriptions", {"templates": {"NOPE": 1}}, key="s2")
    call(app, "put", "/api/v1/me/subscriptions", {"templates": {"PICKUP-TPL": 0}}, lang="en")

    # Referrals: my code and link, a friend who joined with it and has not bought yet
    _friend_of(signed["member"]["id"])
    call(app, "get", "/api/v1/me/referrals")
    call(app, "post", "/api/v1/auth/logout", {})
    call(app, "get", "/api/v1/me")

    # Handed over: a pickup completed at the till, a parcel received; both orders completed
    Stock.objects.create(sku=Sku.objects.get(sku="TEE"), store=store, on_hand=1)
    again = call(app, "post", "/api/v1/auth/login", {"phone": PHONE, "code": "123456"})
    app.credentials(HTTP_AUTHORIZATION=f"Bearer {again['token']}")
    picked = call(app, "post", "/api/v1/orders", pickup, key="h1")["order"]
    call(app, "post", f"/api/v1/orders/{picked['order_no']}/sandbox-pay", {}, key="h2")
    code = picked["fulfilment"]["pickup_code"]
    call(till, "post", f"/api/pos/v1/pickups/{code}/complete", {}, key="h3")
    call(app, "get", f"/api/v1/orders/{picked['order_no']}")
    parcel = {**delivery, "fulfilment": {"type": "delivery", "address": {
        "name": "王小明", "phone": "138 0000 0000", "region": "浙江省/杭州市",
        "detail": "文三路 100 号",
    }}}  # fmt: skip
    sent = call(app, "post", "/api/v1/orders", parcel, key="h4")["order"]
    call(app, "post", f"/api/v1/orders/{sent['order_no']}/sandbox-pay", {}, key="h5")
    delivery_ship(
        order_id=Order.objects.get(order_no=sent["order_no"]).pk,
        ship_from=None,
        carrier="顺丰速运",
        tracking_no="SF1000",
        actor="test",
    )
    call(app, "post", f"/api/v1/orders/{sent['order_no']}/receive", {}, key="h6")

    # Promoting (分销): not a promoter yet, applying (HQ approves), commissions, withdrawals
    call(app, "get", "/api/v1/me/promoter")
    call(app, "get", "/api/v1/me/promoter", lang="en")
    call(app, "post", "/api/v1/me/promoter/apply", {}, key="f1")
    call(app, "post", "/api/v1/me/promoter/apply", {}, key="f2")
    call(app, "get", "/api/v1/me/promoter")
    call(app, "get", "/api/v1/me/commissions")
    call(app, "post", "/api/v1/me/withdrawals", {"amount": "0.50"}, key="w1")
    call(app, "post", "/api/v1/me/withdrawals", {"amount": "5.00"}, key="w2")
    call(app, "post", "/api/v1/me/withdrawals", {"amount": "5.00"}, key="w3", lang="en")
    call(app, "post", "/api/v1/me/withdrawals", {"amount": "5.00"})
    call(app, "get", "/api/v1/me/withdrawals")
    call(app, "post", "/api/v1/orders", {**pickup, "promoter_code": "NOSUCHCODE"}, key="w4")

    got = json.dumps(journey.steps, ensure_ascii=False, indent=1)
    if os.environ.get("UPDATE_API_TRANSCRIPT"):
        TRANSCRIPT.write_text(got + "\n", encoding="utf-8")
    recorded = json.loads(TRANSCRIPT.read_text(encoding="utf-8"))
    for step, (was, now) in enumerate(zip(recorded, journey.steps, strict=True)):
        assert now == was, f"step {step}: {was['call']}"

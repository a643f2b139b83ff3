"""WeChat Pay API v3 (apps.orders.wechatpay) against a local fake of WeChat Pay, with keys
made here: JSAPI orders and the client's signed params, notices verified and decrypted,
orders asked about before they expire, and a payment that came after the order was
cancelled refunded through the gateway, once."""

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from apps.mall.models import Product
from apps.members.models import MemberIdentity
from apps.orders.errors import PaymentGatewayError, WechatPayerUnknown
from apps.orders.models import LatePayment, Order, Payment
from apps.orders.payments import payment_backend
from apps.orders.services import orders_expire_due
from apps.orders.tasks import orders_expire_task
from apps.orders.wechatpay import WechatPayBackend
from apps.points.models import Entry
from tests.fake_http import Answer, fake_server
from tests.members.factories import MemberFactory, member_client
from tests.orders import wechatpay_fake as wx
from tests.stores.factories import StoreFactory

pytestmark = pytest.mark.django_db

PREPAY_ID = "wx201410272009395522657a690389285100"
JSAPI = ("POST", "/v3/pay/transactions/jsapi")
REFUND = ("POST", "/v3/refund/domestic/refunds")


@pytest.fixture(scope="module")
def keys():
    return wx.keys()


@pytest.fixture
def gateway(keys, settings, tmp_path):
    """The fake WeChat Pay, and Huiji configured for it. `gateway.routes[(method, path)]`
    is the answer to a request (a query's path has no query string)."""
    routes = {
        JSAPI: wx.answer(keys, 200, {"prepay_id": PREPAY_ID}),
        REFUND: wx.answer(
            keys, 200, {"refund_id": "50000000382019052709732678859", "status": "PROCESSING"}
        ),
    }

    def answer(request):
        if not wx.signed_by_merchant(keys, request):
            return Answer(401, b'{"code": "SIGN_ERROR", "message": "bad signature"}')
        key = (request.method, request.path.split("?")[0])
        return routes.get(
            key, wx.answer(keys, 404, {"code": "ORDER_NOT_EXIST", "message": "订单不存在"})
        )

    paths = keys.write(tmp_path)
    with fake_server(answer) as server:
        settings.PAYMENT_BACKEND = "apps.orders.wechatpay.WechatPayBackend"
        settings.WECHATPAY_MCH_ID = wx.MCH_ID
        settings.WECHATPAY_APP_ID = wx.APP_ID
        settings.WECHATPAY_APIV3_KEY = wx.APIV3_KEY
        settings.WECHATPAY_CERT_SERIAL_NO = wx.CERT_SERIAL_NO
        settings.WECHATPAY_PRIVATE_KEY_PATH = paths["merchant"]
        settings.WECHATPAY_PLATFORM_KEY_PATH = paths["platform"]
        settings.WECHATPAY_PLATFORM_KEY_ID = wx.PLATFORM_KEY_ID
        settings.WECHATPAY_NOTIFY_URL = "https://vip.example.cn/api/v1/payments/notify"
        settings.WECHATPAY_API_BASE = server.url
        server.routes = routes
        yield server


@pytest.fixture
def member(db):
    Product.objects.create(sku="BAG", name="帆布包", category="配饰", price=Decimal("129.00"))
    member = MemberFactory(home_store=StoreFactory(code="S009"))
    MemberIdentity.objects.create(
        member=member, kind=MemberIdentity.Kind.WECHAT_OPENID, value="oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"
    )
    return member


@pytest.fixture
def placed(gateway, member, api_client):
    """An order placed in the mini-program: 129.00 to pay at WeChat Pay."""
    response = member_client(api_client, member).post(
        "/api/v1/orders", {"lines": [{"sku": "BAG", "quantity": 1}]}, format="json"
    )
    assert response.status_code == 201, response.json()
    api_client.credentials()  # the gateway's notices come unauthenticated
    return Order.objects.get(order_no=response.json()["order"]["order_no"]), response.json()


def post_notice(api_client, body: bytes, headers: dict):
    return api_client.generic(
        "POST",
        "/api/v1/payments/notify",
        body,
        content_type="application/json",
        headers=headers,
    )


def test_placing_an_order_opens_a_jsapi_order_and_signs_the_clients_params(placed, gateway, keys):
    order, body = placed

    [request] = gateway.received
    sent = request.json()
    params = body["payment"]

    assert (request.method, request.path) == JSAPI and wx.signed_by_merchant(keys, request)
    assert sent["mchid"] == wx.MCH_ID and sent["appid"] == wx.APP_ID
    assert sent["out_trade_no"] == order.order_no
    assert sent["amount"] == {"total": 12900, "currency": "CNY"}
    assert sent["payer"] == {"openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"}
    assert sent["notify_url"] == "https://vip.example.cn/api/v1/payments/notify"
    assert sent["time_expire"] == timezone.localtime(order.expires_at).isoformat(timespec="seconds")
    assert params["backend"] == "wechatpay" and params["appId"] == wx.APP_ID
    assert params["package"] == f"prepay_id={PREPAY_ID}" and params["signType"] == "RSA"
    signed = f"{wx.APP_ID}\n{params['timeStamp']}\n{params['nonceStr']}\n{params['package']}\n"
    assert wx.verifies(keys.merchant.public_key(), signed, params["paySign"])


def test_a_member_who_never_signed_in_with_wechat_cannot_start_paying(gateway, member):
    member.identities.all().delete()
    order = Order(order_no="S009-20261203-0001", member=member, payable=Decimal("1.00"))

    with pytest.raises(WechatPayerUnknown):
        payment_backend().start(order)

    assert gateway.received == []


@pytest.mark.parametrize(
    "broken",
    [
        "refused",  # WeChat answers an error
        "unsigned",  # an answer without WeChat's signature
        "garbage",  # not JSON
        "a list",  # JSON, not an object
        "no prepay id",
        "hangs",  # no answer within the timeout
    ],
)
def test_a_gateway_that_fails_is_payment_unavailable(broken, gateway, keys, member, monkeypatch):
    gateway.routes[JSAPI] = {
        "refused": wx.answer(keys, 400, {"code": "PARAM_ERROR", "message": "参数错误"}),
        "unsigned": Answer(200, b'{"prepay_id": "wx1"}'),
        "garbage": Answer(200, b"<html>", wx.signed_headers(keys.platform, b"<html>")),
        "a list": Answer(200, b"[]", wx.signed_headers(keys.platform, b"[]")),
        "no prepay id": wx.answer(keys, 200, {"code": "OK"}),
        "hangs": Answer(200, b"{}", delay=3),
    }[broken]
    monkeypatch.setattr(WechatPayBackend, "timeout", (1, 1))
    backend = payment_backend()
    order = Order(order_no="S009-20261203-0001", member=member, payable=Decimal("1.00"))

    with pytest.raises(PaymentGatewayError):
        backend.start(order)


def test_a_verified_notice_pays_the_order_and_a_replay_changes_nothing(placed, api_client, keys):
    order, _ = placed
    body, headers = wx.notice(keys.platform, wx.paid_resource(order.order_no, 12900))

    first = post_notice(api_client, body, headers)
    again = post_notice(api_client, body, headers)

    assert (first.status_code, first.json()) == (200, {"code": "SUCCESS", "message": "OK"})
    assert again.status_code == 200
    order.refresh_from_db()
    assert order.status == "paid" and order.paid_amount == Decimal("129.00")
    assert list(Payment.objects.values_list("transaction_id", flat=True)) == [
        "4200001234202612030123456789"
    ]


def _tampered(body: bytes) -> bytes:
    envelope = json.loads(body)
    envelope["summary"] = "forged"
    return json.dumps(envelope).encode()


MALFORMED = {
    "empty body": lambda keys, order: wx.notice(keys.platform, None, body=b""),
    "not JSON": lambda keys, order: wx.notice(keys.platform, None, body=b"<xml>SUCCESS</xml>"),
    "no resource": lambda keys, order: wx.notice(
        keys.platform, None, body=b'{"event_type": "TRANSACTION.SUCCESS"}'
    ),
    "resource missing fields": lambda keys, order: wx.notice(
        keys.platform, {"mchid": wx.MCH_ID, "out_trade_no": order.order_no}
    ),
    "body changed after signing": lambda keys, order: (
        _tampered(wx.notice(keys.platform, wx.paid_resource(order.order_no, 12900))[0]),
        wx.notice(keys.platform, wx.paid_resource(order.order_no, 12900))[1],
    ),
    "signed by another key": lambda keys, order: wx.notice(
        keys.merchant, wx.paid_resource(order.order_no, 12900)
    ),
    "another key id": lambda keys, order: wx.notice(
        keys.platform, wx.paid_resource(order.order_no, 12900), key_id="PUB_KEY_ID_OTHER"
    ),
    "ten minutes old": lambda keys, order: wx.notice(
        keys.platform,
        wx.paid_resource(order.order_no, 12900),
        timestamp=int(timezone.now().timestamp()) - 600,
    ),
    "a timestamp in other digits": lambda keys, order: (
        wx.notice(keys.platform, wx.paid_resource(order.order_no, 12900))[0],
        {**wx.notice(keys.platform, None, body=b"{}")[1], "Wechatpay-Timestamp": "¹²³"},
    ),
    "no transaction id": lambda keys, order: wx.notice(
        keys.platform, wx.paid_resource(order.order_no, 12900, transaction_id="")
    ),
    "encrypted with another key": lambda keys, order: wx.notice(
        keys.platform,
        wx.paid_resource(order.order_no, 12900),
        apiv3_key="ffffffffffffffffffffffffffffffff",
    ),
    "another merchant": lambda keys, order: wx.notice(
        keys.platform, wx.paid_resource(order.order_no, 12900, mchid="1900000999")
    ),
    "another app": lambda keys, order: wx.notice(
        keys.platform, wx.paid_resource(order.order_no, 12900, appid="wx0000000000000000")
    ),
    "wrong amount": lambda keys, order: wx.notice(
        keys.platform, wx.paid_resource(order.order_no, 1)
    ),
}


@pytest.mark.parametrize("case", MALFORMED)
def test_a_malformed_or_forged_notice_answers_400_and_changes_nothing(
    case, placed, api_client, keys
):
    order, _ = placed
    body, headers = MALFORMED[case](keys, order)

    response = post_notice(api_client, body, headers)

    assert response.status_code == 400, response.content
    assert response.json()["code"] == "invalid"
    order.refresh_from_db()
    assert order.status == "created" and order.paid_at is None
    assert Payment.objects.count() == 0 and LatePayment.objects.count() == 0


def test_a_notice_for_an_order_unknown_here_is_404(placed, api_client, keys):
    body, headers = wx.notice(keys.platform, wx.paid_resource("S001-20200101-0001", 12900))

    response = post_notice(api_client, body, headers)

    assert (response.status_code, response.json()["code"]) == (404, "not_found")
    assert Payment.objects.count() == 0


def test_a_refund_result_notice_is_acknowledged_and_ignored(placed, api_client, keys):
    order, _ = placed
    body, headers = wx.notice(
        keys.platform, {"out_trade_no": order.order_no}, event_type="REFUND.SUCCESS"
    )

    response = post_notice(api_client, body, headers)

    assert response.status_code == 200
    assert Order.objects.get(pk=order.pk).status == "created" and Payment.objects.count() == 0


def test_expiry_asks_the_gateway_first_and_pays_an_order_whose_notice_never_came(
    placed, gateway, keys
):
    order, _ = placed
    query = ("GET", f"/v3/pay/transactions/out-trade-no/{order.order_no}")
    gateway.routes[query] = wx.answer(keys, 200, wx.paid_resource(order.order_no, 12900))

    cancelled = orders_expire_due(now=timezone.now() + timedelta(minutes=16))

    asked = gateway.received[-1]
    assert (asked.method, asked.path) == ("GET", f"{query[1]}?mchid={wx.MCH_ID}")
    assert wx.signed_by_merchant(keys, asked)
    assert cancelled == 0
    order.refresh_from_db()
    assert order.status == "paid" and Payment.objects.get().order == order


@pytest.mark.parametrize(
    "state", [(404, {"code": "ORDER_NOT_EXIST", "message": "订单不存在"}), (200, "NOTPAY")]
)
def test_expiry_cancels_an_order_the_gateway_holds_no_payment_for(state, placed, gateway, keys):
    order, _ = placed
    status, payload = state
    if payload == "NOTPAY":
        payload = wx.paid_resource(order.order_no, 12900, trade_state="NOTPAY")
        del payload["transaction_id"]
    gateway.routes[("GET", f"/v3/pay/transactions/out-trade-no/{order.order_no}")] = wx.answer(
        keys, status, payload
    )

    assert orders_expire_due(now=timezone.now() + timedelta(minutes=16)) == 1

    assert Order.objects.get(pk=order.pk).status == "cancelled" and Payment.objects.count() == 0


def test_expiry_leaves_an_order_the_gateway_cannot_answer_for_until_the_next_run(
    placed, gateway, keys
):
    order, _ = placed
    query = ("GET", f"/v3/pay/transactions/out-trade-no/{order.order_no}")
    gateway.routes[query] = wx.answer(keys, 500, {"code": "SYSTEM_ERROR", "message": "系统错误"})
    later = timezone.now() + timedelta(minutes=16)

    assert orders_expire_due(now=later) == 0
    assert Order.objects.get(pk=order.pk).status == "created"

    del gateway.routes[query]  # answers ORDER_NOT_EXIST again
    assert orders_expire_due(now=later) == 1
    assert Order.objects.get(pk=order.pk).status == "cancelled"


def test_a_payment_after_the_order_was_cancelled_is_refunded_once(
    placed, gateway, keys, api_client, django_capture_on_commit_callbacks
):
    order, _ = placed
    orders_expire_due(now=timezone.now() + timedelta(minutes=16))
    body, headers = wx.notice(keys.platform, wx.paid_resource(order.order_no, 12900))

    with django_capture_on_commit_callbacks(execute=True):
        first = post_notice(api_client, body, headers)
    with django_capture_on_commit_callbacks(execute=True):
        again = post_notice(api_client, body, headers)

    assert first.status_code == again.status_code == 200
    refunds = [r for r in gateway.received if (r.method, r.path) == REFUND]
    assert len(refunds) == 1 and wx.signed_by_merchant(keys, refunds[0])
    assert refunds[0].json() | {"reason": "…"} == {
        "notify_url": "https://vip.example.cn/api/v1/payments/notify",
        "out_refund_no": "late-4200001234202612030123456789",
        "transaction_id": "4200001234202612030123456789",
        "amount": {"refund": 12900, "total": 12900, "currency": "CNY"},
        "reason": "…",
    }
    late = LatePayment.objects.get()
    assert (late.order, late.amount, late.status) == (order, Decimal("129.00"), "refunded")
    assert late.gateway_refund_id == "50000000382019052709732678859" and late.attempts == 1
    order.refresh_from_db()
    assert order.status == "cancelled" and order.paid_at is None
    assert Payment.objects.count() == 0
    assert not Entry.objects.filter(kind="earn", member=order.member).exists()


def test_a_refund_the_gateway_refuses_is_asked_again_by_the_expiry_task(
    placed, gateway, keys, api_client, django_capture_on_commit_callbacks
):
    order, _ = placed
    orders_expire_due(now=timezone.now() + timedelta(minutes=16))
    gateway.routes[REFUND] = wx.answer(keys, 403, {"code": "NOT_ENOUGH", "message": "余额不足"})
    body, headers = wx.notice(keys.platform, wx.paid_resource(order.order_no, 12900))

    with django_capture_on_commit_callbacks(execute=True):
        assert post_notice(api_client, body, headers).status_code == 200

    late = LatePayment.objects.get()
    assert (late.status, late.attempts, late.gateway_refund_id) == ("refunding", 1, "")
    assert late.last_error == "HTTP 403 NOT_ENOUGH 余额不足"

    gateway.routes[REFUND] = wx.answer(keys, 200, {"refund_id": "5000001", "status": "SUCCESS"})
    orders_expire_task()

    late.refresh_from_db()
    assert (late.status, late.attempts, late.gateway_refund_id) == ("refunded", 2, "5000001")
    assert late.last_error == ""
    orders_expire_task()
    assert len([r for r in gateway.received if (r.method, r.path) == REFUND]) == 2


def test_expiry_leaves_an_order_paid_at_another_amount_and_goes_on(placed, gateway, keys):
    order, _ = placed
    query = ("GET", f"/v3/pay/transactions/out-trade-no/{order.order_no}")
    gateway.routes[query] = wx.answer(keys, 200, wx.paid_resource(order.order_no, 1))

    assert orders_expire_due(now=timezone.now() + timedelta(minutes=16)) == 0

    assert Order.objects.get(pk=order.pk).status == "created" and not Payment.objects.exists()

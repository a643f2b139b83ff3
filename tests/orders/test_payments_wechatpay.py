"""WeChat Pay API v3 (apps.orders.wechatpay) against a local fake of WeChat Pay, with keys
made here: JSAPI orders opened once per order and outside the order's transaction, the
client's signed params, notices verified and decrypted, orders asked about before they
expire, and a payment no order keeps (after the order was cancelled, or of another amount)
refunded through the gateway once, and counted refunded only when WeChat says so."""

import json
import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import DatabaseError, connection, transaction
from django.utils import timezone
from rest_framework.test import APIClient

from apps.members.models import MemberIdentity
from apps.orders.errors import PaymentGatewayError, WechatPayerUnknown
from apps.orders.models import LatePayment, Order, OrderCounter, Payment
from apps.orders.paying import orders_expire_due
from apps.orders.payments import payment_backend
from apps.orders.tasks import late_payment_refund_task, orders_expire_task
from apps.orders.wechatpay import WechatPayBackend
from apps.points.models import Entry
from tests.conftest import run_together
from tests.fake_http import Answer, fake_server
from tests.mall.factories import SkuFactory
from tests.members.factories import MemberFactory, member_client
from tests.orders import wechatpay_fake as wx
from tests.stores.factories import StoreFactory

pytestmark = pytest.mark.django_db

PREPAY_ID = "wx201410272009395522657a690389285100"
JSAPI = ("POST", "/v3/pay/transactions/jsapi")
REFUND = ("POST", "/v3/refund/domestic/refunds")
TRANSACTION_ID = "4200001234202612030123456789"
REFUND_NO = f"late-{TRANSACTION_ID}"
REFUND_QUERY = ("GET", f"/v3/refund/domestic/refunds/{REFUND_NO}")
BASKET = {"lines": [{"sku": "BAG", "quantity": 1}]}


@pytest.fixture(scope="module")
def keys():
    return wx.keys()


@pytest.fixture
def gateway(keys, settings, tmp_path):
    """The fake WeChat Pay, and Huiji configured for it. `gateway.routes[(method, path)]`
    is the answer to a request, or a function of it (a query's path has no query string).
    A refund is PROCESSING at first, as WeChat's usually are."""
    routes = {
        JSAPI: wx.answer(keys, 200, {"prepay_id": PREPAY_ID}),
        REFUND: wx.answer(keys, 200, wx.refund_answer(REFUND_NO, 12900, "PROCESSING")),
    }

    def answer(request):
        if not wx.signed_by_merchant(keys, request):
            return Answer(401, b'{"code": "SIGN_ERROR", "message": "bad signature"}')
        key = (request.method, request.path.split("?")[0])
        reply = routes.get(
            key, wx.answer(keys, 404, {"code": "ORDER_NOT_EXIST", "message": "订单不存在"})
        )
        return reply(request) if callable(reply) else reply

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
    SkuFactory(sku="BAG", name="帆布包", category="配饰", price=Decimal("129.00"))
    member = MemberFactory(home_store=StoreFactory(code="S009"))
    MemberIdentity.objects.create(
        member=member, kind=MemberIdentity.Kind.WECHAT_OPENID, value="oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"
    )
    return member


@pytest.fixture
def placed(gateway, member, api_client):
    """An order placed in the mini-program: 129.00 to pay at WeChat Pay."""
    response = member_client(api_client, member).post("/api/v1/orders", BASKET, format="json")
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
        payment_backend().prepay(order)

    assert gateway.received == []


def test_an_order_its_member_cannot_pay_is_cancelled_and_gives_everything_back(
    gateway, member, api_client
):
    member.identities.all().delete()

    response = member_client(api_client, member).post("/api/v1/orders", BASKET, format="json")

    assert (response.status_code, response.json()["code"]) == (400, "invalid")
    order = Order.objects.get()
    assert (order.status, order.prepay_id) == ("cancelled", "") and gateway.received == []


def test_a_gateway_that_times_out_leaves_the_order_numbered_for_good_and_the_same_key_asks_again(
    gateway, keys, member, api_client, monkeypatch
):
    """The order commits before WeChat is asked: when WeChat does not answer (it may have
    opened the prepay all the same), its out_trade_no is never given to another order."""
    monkeypatch.setattr(WechatPayBackend, "timeout", (1, 1))
    gateway.routes[JSAPI] = Answer(200, b"{}", delay=3)
    client = member_client(api_client, member)

    first = client.post("/api/v1/orders", BASKET, format="json", headers={"Idempotency-Key": "k1"})

    assert (first.status_code, first.json()["code"]) == (503, "payment_unavailable")
    order = Order.objects.get()
    assert (order.status, order.prepay_id) == ("created", "")
    assert order.order_no.endswith("-0001")

    gateway.routes[JSAPI] = wx.answer(keys, 200, {"prepay_id": PREPAY_ID})
    other = client.post("/api/v1/orders", BASKET, format="json")
    again = client.post("/api/v1/orders", BASKET, format="json", headers={"Idempotency-Key": "k1"})

    assert other.json()["order"]["order_no"].endswith("-0002")
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["order"]["order_no"] == order.order_no
    assert again.json()["payment"]["package"] == f"prepay_id={PREPAY_ID}"
    asked = [r.json()["out_trade_no"] for r in gateway.received if (r.method, r.path) == JSAPI]
    assert asked == [order.order_no, other.json()["order"]["order_no"], order.order_no]
    assert Order.objects.count() == 2


def test_a_replayed_placement_and_the_pay_endpoint_sign_the_same_prepay_asked_once(
    gateway, keys, member, api_client
):
    client = member_client(api_client, member)
    key = {"Idempotency-Key": "k1"}

    first = client.post("/api/v1/orders", BASKET, format="json", headers=key)
    again = client.post("/api/v1/orders", BASKET, format="json", headers=key)
    order_no = first.json()["order"]["order_no"]
    paid = client.post(f"/api/v1/orders/{order_no}/pay")

    assert first.status_code == again.status_code == 201
    assert again.json()["order"] == first.json()["order"]
    assert paid.status_code == 200 and paid.json()["gateway"] == "wechatpay"
    for params in (first.json()["payment"], again.json()["payment"], paid.json()["params"]):
        assert params["package"] == f"prepay_id={PREPAY_ID}"
        signed = f"{wx.APP_ID}\n{params['timeStamp']}\n{params['nonceStr']}\n{params['package']}\n"
        assert wx.verifies(keys.merchant.public_key(), signed, params["paySign"])
    assert [(r.method, r.path) for r in gateway.received] == [JSAPI]
    assert Order.objects.get().prepay_id == PREPAY_ID


@pytest.mark.django_db(transaction=True)
def test_wechat_is_asked_after_the_order_commits_with_the_stores_numbering_free(
    gateway, keys, member, api_client
):
    """While WeChat takes its time, the order is already committed and the store's order
    counter is not locked: other orders at the store do not wait on WeChat. Seen from the
    fake WeChat's own thread and database connection."""
    seen = {}

    def jsapi(request):
        try:
            with transaction.atomic():
                seen["committed"] = Order.objects.filter(
                    order_no=request.json()["out_trade_no"]
                ).exists()
                try:
                    with transaction.atomic():
                        list(OrderCounter.objects.select_for_update(nowait=True))
                    seen["counter free"] = True
                except DatabaseError:
                    seen["counter free"] = False
        finally:
            connection.close()
        return wx.answer(keys, 200, {"prepay_id": PREPAY_ID})

    client = member_client(api_client, member)
    assert client.post("/api/v1/orders", BASKET, format="json").status_code == 201  # the day's
    gateway.routes[JSAPI] = jsapi  # first order made the store's counter row: the next locks it

    # with an Idempotency-Key, as the mini-program sends it: the key is kept in a transaction
    response = client.post(
        "/api/v1/orders", BASKET, format="json", headers={"Idempotency-Key": "k1"}
    )

    assert response.status_code == 201 and response.json()["order"]["order_no"].endswith("-0002")
    assert seen == {"committed": True, "counter free": True}


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
        backend.prepay(order)


@pytest.mark.parametrize(
    "answer",
    [
        {"code": "OK"},  # no refund in it
        wx.refund_answer("late-another", 12900, "SUCCESS"),  # another refund's
        wx.refund_answer(REFUND_NO, 12900, "DONE"),  # a state WeChat does not have
    ],
)
def test_a_refund_answer_that_is_not_this_refunds_is_payment_unavailable(answer, gateway, keys):
    gateway.routes[REFUND] = wx.answer(keys, 200, answer)

    with pytest.raises(PaymentGatewayError):
        payment_backend().refund(
            transaction_id=TRANSACTION_ID,
            refund_no=REFUND_NO,
            amount=Decimal("129.00"),
            total=Decimal("129.00"),
            reason="test",
        )


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
    "a 400-digit timestamp": lambda keys, order: wx.notice(
        keys.platform, wx.paid_resource(order.order_no, 12900), timestamp="9" * 400
    ),
    "a 5,000-digit timestamp": lambda keys, order: wx.notice(
        keys.platform, wx.paid_resource(order.order_no, 12900), timestamp="9" * 5000
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
    "a refund of another merchant": lambda keys, order: wx.notice(
        keys.platform,
        wx.refund_resource(REFUND_NO, 12900, mchid="1900000999"),
        event_type="REFUND.SUCCESS",
    ),
    "a refund in a state WeChat does not have": lambda keys, order: wx.notice(
        keys.platform, wx.refund_resource(REFUND_NO, 12900, "DONE"), event_type="REFUND.SUCCESS"
    ),
    "a refund without its number": lambda keys, order: wx.notice(
        keys.platform, wx.refund_resource("", 12900), event_type="REFUND.SUCCESS"
    ),
    "a refund in yuan": lambda keys, order: wx.notice(
        keys.platform,
        wx.refund_resource(REFUND_NO, 12900, amount={"refund": "129.00", "total": 12900}),
        event_type="REFUND.SUCCESS",
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


@pytest.mark.django_db(transaction=True)
def test_three_devices_asking_to_pay_at_once_get_one_prepay(gateway, keys, member, api_client):
    """Each may reach WeChat before another's prepay id is kept: they send the very same
    JSAPI order, which WeChat answers with the same prepay id, never a second prepay."""
    client = member_client(api_client, member)
    order_no = client.post("/api/v1/orders", BASKET, format="json").json()["order"]["order_no"]
    Order.objects.filter(order_no=order_no).update(prepay_id="")  # as if WeChat never answered
    token = client._credentials["HTTP_AUTHORIZATION"]

    def pay():
        response = APIClient().post(
            f"/api/v1/orders/{order_no}/pay", headers={"Authorization": token}
        )
        return response.status_code, response.json()["params"]["package"]

    answers = run_together(pay, 3)

    assert answers == [(200, f"prepay_id={PREPAY_ID}")] * 3
    assert Order.objects.get(order_no=order_no).prepay_id == PREPAY_ID
    sent = [r.body for r in gateway.received if (r.method, r.path) == JSAPI]
    assert 2 <= len(sent) <= 4 and len(set(sent)) == 1  # the placement's and the three's


def test_a_refund_notice_for_a_refund_not_asked_here_is_acknowledged_and_ignored(
    placed, api_client, keys
):
    order, _ = placed
    body, headers = wx.notice(
        keys.platform, wx.refund_resource("R-FROM-THE-CONSOLE", 12900), event_type="REFUND.SUCCESS"
    )

    response = post_notice(api_client, body, headers)

    assert (response.status_code, response.json()) == (200, {"code": "SUCCESS", "message": "OK"})
    assert Order.objects.get(pk=order.pk).status == "created"
    assert not Payment.objects.exists() and not LatePayment.objects.exists()


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


@pytest.fixture
def late(placed, gateway, keys, api_client, django_capture_on_commit_callbacks):
    """An order paid after it expired: its refund asked of WeChat, which is PROCESSING it."""
    order, _ = placed
    orders_expire_due(now=timezone.now() + timedelta(minutes=16))
    body, headers = wx.notice(keys.platform, wx.paid_resource(order.order_no, 12900))
    with django_capture_on_commit_callbacks(execute=True):
        assert post_notice(api_client, body, headers).status_code == 200
    return LatePayment.objects.get()


def refunds_asked(gateway) -> list:
    return [r for r in gateway.received if (r.method, r.path) == REFUND]


def test_a_payment_after_the_order_was_cancelled_is_refunding_while_wechat_processes_it(
    late, gateway, keys, api_client, django_capture_on_commit_callbacks
):
    body, headers = wx.notice(keys.platform, wx.paid_resource(late.order.order_no, 12900))
    with django_capture_on_commit_callbacks(execute=True):
        again = post_notice(api_client, body, headers)

    assert again.status_code == 200
    [refund] = refunds_asked(gateway)
    assert wx.signed_by_merchant(keys, refund)
    assert refund.json() | {"reason": "…"} == {
        "notify_url": "https://vip.example.cn/api/v1/payments/notify",
        "out_refund_no": REFUND_NO,
        "transaction_id": TRANSACTION_ID,
        "amount": {"refund": 12900, "total": 12900, "currency": "CNY"},
        "reason": "…",
    }
    assert refund.json()["reason"] == f"订单 {late.order.order_no} 在付款前已取消"
    late = LatePayment.objects.get()
    assert (late.amount, late.reason, late.status) == (Decimal("129.00"), "cancelled", "refunding")
    assert late.gateway_refund_id == "50000000382019052709732678859" and late.attempts == 1
    assert late.refunded_at is None
    order = Order.objects.get(pk=late.order_id)
    assert order.status == "cancelled" and order.paid_at is None
    assert Payment.objects.count() == 0
    assert not Entry.objects.filter(kind="earn", member=order.member).exists()


def test_a_refund_success_notice_refunds_it_and_a_replay_changes_nothing(
    late, gateway, keys, api_client
):
    body, headers = wx.notice(
        keys.platform, wx.refund_resource(REFUND_NO, 12900), event_type="REFUND.SUCCESS"
    )

    first = post_notice(api_client, body, headers)
    refunded_at = LatePayment.objects.get().refunded_at
    again = post_notice(api_client, body, headers)

    assert first.status_code == again.status_code == 200
    late.refresh_from_db()
    assert (late.status, late.last_error, late.attempts) == ("refunded", "", 1)
    assert late.refunded_at == refunded_at is not None
    orders_expire_task()
    assert len(refunds_asked(gateway)) == 1
    assert [r for r in gateway.received if (r.method, r.path) == REFUND_QUERY] == []


def test_a_refund_notice_of_another_amount_leaves_it_refunding(late, keys, api_client):
    body, headers = wx.notice(
        keys.platform, wx.refund_resource(REFUND_NO, 100), event_type="REFUND.SUCCESS"
    )

    assert post_notice(api_client, body, headers).status_code == 200

    assert LatePayment.objects.get().status == "refunding"


def test_a_refund_still_processing_is_queried_by_the_expiry_task_until_it_succeeds(
    late, gateway, keys
):
    gateway.routes[REFUND_QUERY] = wx.answer(
        keys, 200, wx.refund_answer(REFUND_NO, 12900, "PROCESSING")
    )
    orders_expire_task()
    assert LatePayment.objects.get().status == "refunding"

    gateway.routes[REFUND_QUERY] = wx.answer(
        keys, 200, wx.refund_answer(REFUND_NO, 12900, "SUCCESS")
    )
    orders_expire_task()

    late.refresh_from_db()
    assert (late.status, late.attempts) == ("refunded", 3) and late.refunded_at is not None
    queries = [r for r in gateway.received if (r.method, r.path) == REFUND_QUERY]
    assert len(queries) == 2 and all(wx.signed_by_merchant(keys, q) for q in queries)
    assert len(refunds_asked(gateway)) == 1  # asked once, then only queried


@pytest.mark.parametrize("state", ["ABNORMAL", "CLOSED"])
@pytest.mark.parametrize("heard", ["notice", "query"])
def test_a_refund_wechat_could_not_make_is_shown_to_finance_and_not_asked_again(
    state, heard, late, gateway, keys, api_client
):
    if heard == "notice":
        body, headers = wx.notice(
            keys.platform, wx.refund_resource(REFUND_NO, 12900, state), event_type=f"REFUND.{state}"
        )
        assert post_notice(api_client, body, headers).status_code == 200
    else:
        gateway.routes[REFUND_QUERY] = wx.answer(
            keys, 200, wx.refund_answer(REFUND_NO, 12900, state)
        )
        orders_expire_task()
    received = len(gateway.received)

    orders_expire_task()

    late.refresh_from_db()
    assert (late.status, late.refunded_at) == (state.lower(), None)
    assert late.last_error == f"WeChat Pay {state} (招商银行信用卡0403)"
    assert len(gateway.received) == received  # finance takes it from here


def test_the_notice_answers_without_waiting_for_the_refund_which_a_task_makes(
    placed, gateway, keys, api_client, django_capture_on_commit_callbacks, monkeypatch
):
    order, _ = placed
    orders_expire_due(now=timezone.now() + timedelta(minutes=16))
    started = []
    monkeypatch.setattr(late_payment_refund_task, "delay", started.append)
    body, headers = wx.notice(keys.platform, wx.paid_resource(order.order_no, 12900))

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = post_notice(api_client, body, headers)

    assert response.status_code == 200 and refunds_asked(gateway) == [] and started == []
    for callback in callbacks:
        callback()
    assert started == [LatePayment.objects.get().pk] and refunds_asked(gateway) == []


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

    gateway.routes[REFUND] = wx.answer(keys, 200, wx.refund_answer(REFUND_NO, 12900, "SUCCESS"))
    orders_expire_task()

    late.refresh_from_db()
    assert (late.status, late.attempts) == ("refunded", 2)
    assert late.gateway_refund_id == "50000000382019052709732678859" and late.last_error == ""
    orders_expire_task()
    assert len(refunds_asked(gateway)) == 2


def test_a_notice_of_another_amount_cancels_the_order_and_refunds_the_payment(
    placed, gateway, keys, api_client, django_capture_on_commit_callbacks
):
    order, _ = placed
    body, headers = wx.notice(keys.platform, wx.paid_resource(order.order_no, 1))

    with django_capture_on_commit_callbacks(execute=True):
        response = post_notice(api_client, body, headers)

    assert (response.status_code, response.json()) == (200, {"code": "SUCCESS", "message": "OK"})
    order.refresh_from_db()
    assert order.status == "cancelled" and order.paid_at is None and not Payment.objects.exists()
    late = LatePayment.objects.get()
    assert (late.order, late.amount, late.reason) == (order, Decimal("0.01"), "amount_mismatch")
    [refund] = refunds_asked(gateway)
    assert refund.json()["amount"] == {"refund": 1, "total": 1, "currency": "CNY"}
    assert refund.json()["reason"] == f"订单 {order.order_no} 的付款金额与订单金额不符"


def test_expiry_cancels_an_order_paid_at_another_amount_and_refunds_it(
    placed, gateway, keys, django_capture_on_commit_callbacks
):
    order, _ = placed
    query = ("GET", f"/v3/pay/transactions/out-trade-no/{order.order_no}")
    gateway.routes[query] = wx.answer(keys, 200, wx.paid_resource(order.order_no, 1))
    gateway.routes[REFUND] = wx.answer(keys, 200, wx.refund_answer(REFUND_NO, 1, "SUCCESS"))

    with django_capture_on_commit_callbacks(execute=True):
        assert orders_expire_due(now=timezone.now() + timedelta(minutes=16)) == 1

    assert Order.objects.get(pk=order.pk).status == "cancelled" and not Payment.objects.exists()
    late = LatePayment.objects.get()
    assert (late.reason, late.amount, late.status) == (
        "amount_mismatch",
        Decimal("0.01"),
        "refunded",
    )


# Paying in WeChat's in-app browser: under the official account's app id, as the member's
# openid there. The first prepay fixes where an order is paid.

OA_APP_ID = "wx520c15f417810387"
OA_OPENID = "ob8F-wFENFWw7_FR6Gx8KbPacFEw"
IN_BROWSER = {**BASKET, "channel": "wechat_browser"}


@pytest.fixture
def oa(gateway, member, settings):
    """The brand's official account, and the member's openid under it."""
    settings.WECHAT_OA_APP_ID = OA_APP_ID
    settings.WECHAT_OA_APP_SECRET = "9a8b7c6d5e4f30211203f4e5d6c7b8a9"
    MemberIdentity.objects.create(
        member=member, kind=MemberIdentity.Kind.WECHAT_OA_OPENID, value=OA_OPENID
    )
    return gateway


def signed_for(keys, app_id: str, params: dict) -> bool:
    text = f"{app_id}\n{params['timeStamp']}\n{params['nonceStr']}\n{params['package']}\n"
    return wx.verifies(keys.merchant.public_key(), text, params["paySign"])


@pytest.mark.parametrize("brand", ["has no official account", "member never bound one"])
def test_a_member_wechats_browser_does_not_know_is_told_to_open_the_page_in_wechat(
    brand, oa, member, api_client, settings
):
    if brand == "has no official account":
        settings.WECHAT_OA_APP_ID = settings.WECHAT_OA_APP_SECRET = ""
    else:
        member.identities.filter(kind=MemberIdentity.Kind.WECHAT_OA_OPENID).delete()

    response = member_client(api_client, member).post("/api/v1/orders", IN_BROWSER, format="json")

    assert (response.status_code, response.json()["code"]) == (400, "invalid")
    assert response.json()["message"] == (
        "请在微信中打开此页面并授权登录，才能在这里使用微信支付。"
    )
    # the member can bind and pay again: the order waits, nothing asked of WeChat
    order = Order.objects.get()
    assert (order.status, order.prepay_id) == ("created", "") and oa.received == []


def test_paying_in_wechats_browser_opens_the_jsapi_order_under_the_official_account(
    oa, keys, member, api_client
):
    client = member_client(api_client, member)

    placed = client.post("/api/v1/orders", IN_BROWSER, format="json")
    order_no = placed.json()["order"]["order_no"]
    paid = client.post(
        f"/api/v1/orders/{order_no}/pay", {"channel": "wechat_browser"}, format="json"
    )

    assert placed.status_code == 201 and paid.status_code == 200, paid.json()
    [request] = oa.received
    sent = request.json()
    assert (request.method, request.path) == JSAPI and wx.signed_by_merchant(keys, request)
    assert (sent["appid"], sent["payer"]) == (OA_APP_ID, {"openid": OA_OPENID})
    assert (sent["mchid"], sent["out_trade_no"]) == (wx.MCH_ID, order_no)
    for params in (placed.json()["payment"], paid.json()["params"]):
        assert params["appId"] == OA_APP_ID and params["package"] == f"prepay_id={PREPAY_ID}"
        assert signed_for(keys, OA_APP_ID, params)
    order = Order.objects.get()
    assert (order.prepay_id, order.payment_channel) == (PREPAY_ID, "wechat_browser")


def test_the_pay_endpoint_without_a_channel_pays_in_the_mini_program_as_before(
    oa, keys, member, api_client
):
    client = member_client(api_client, member)
    order_no = client.post("/api/v1/orders", BASKET, format="json").json()["order"]["order_no"]
    Order.objects.filter(order_no=order_no).update(prepay_id="")  # as if WeChat never answered
    oa.received.clear()

    paid = client.post(f"/api/v1/orders/{order_no}/pay")

    assert paid.status_code == 200
    [request] = oa.received
    assert request.json()["appid"] == wx.APP_ID
    assert request.json()["payer"] == {"openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"}
    assert paid.json()["params"]["appId"] == wx.APP_ID
    assert signed_for(keys, wx.APP_ID, paid.json()["params"])
    assert Order.objects.get().payment_channel == "miniprogram"


@pytest.mark.parametrize(
    ("first", "then"),
    [(BASKET, {"channel": "wechat_browser"}), (IN_BROWSER, {}), (IN_BROWSER, None)],
)
def test_an_order_started_in_one_channel_cannot_be_paid_in_the_other(
    first, then, oa, member, api_client
):
    client = member_client(api_client, member)
    order_no = client.post("/api/v1/orders", first, format="json").json()["order"]["order_no"]
    before = Order.objects.values("prepay_id", "payment_channel", "status").get()

    response = client.post(f"/api/v1/orders/{order_no}/pay", then, format="json")

    assert (response.status_code, response.json()["code"]) == (409, "not_payable")
    assert response.json()["message"] == (
        "此订单已在别处（小程序或微信内浏览器）发起支付，请在那里完成支付。"
    )
    assert Order.objects.values("prepay_id", "payment_channel", "status").get() == before
    assert [(r.method, r.path) for r in oa.received] == [JSAPI]


@pytest.mark.django_db(transaction=True)
def test_two_first_asks_in_two_channels_at_once_pay_in_one(oa, keys, member, api_client):
    """Both may reach the gateway before either prepay id is kept (WeChat itself refuses
    the second; the fake answers both): the one kept fixes the channel, the other is 409."""
    client = member_client(api_client, member)
    order_no = client.post("/api/v1/orders", BASKET, format="json").json()["order"]["order_no"]
    Order.objects.filter(order_no=order_no).update(prepay_id="")  # as if WeChat never answered
    token = client._credentials["HTTP_AUTHORIZATION"]
    channels = iter(["miniprogram", "wechat_browser"])

    def pay():
        response = APIClient().post(
            f"/api/v1/orders/{order_no}/pay",
            {"channel": next(channels)},
            format="json",
            headers={"Authorization": token},
        )
        return response.status_code, response.json()

    answers = run_together(pay, 2)

    assert sorted(status for status, _ in answers) == [200, 409]
    [paid] = [body for status, body in answers if status == 200]
    order = Order.objects.get()
    app_id = OA_APP_ID if order.payment_channel == "wechat_browser" else wx.APP_ID
    assert order.prepay_id == PREPAY_ID and paid["params"]["appId"] == app_id


@pytest.mark.parametrize("channel", ["alipay", "", None, ["wechat_browser"]])
def test_an_unknown_channel_is_invalid_and_places_or_asks_nothing(channel, oa, member, api_client):
    client = member_client(api_client, member)

    placing = client.post("/api/v1/orders", {**BASKET, "channel": channel}, format="json")
    order_no = client.post("/api/v1/orders", BASKET, format="json").json()["order"]["order_no"]
    Order.objects.filter(order_no=order_no).update(prepay_id="")
    oa.received.clear()
    paying = client.post(f"/api/v1/orders/{order_no}/pay", {"channel": channel}, format="json")

    assert (placing.status_code, placing.json()["code"]) == (400, "invalid")
    assert (paying.status_code, paying.json()["code"]) == (400, "invalid")
    assert "channel" in placing.json()["fields"] and "channel" in paying.json()["fields"]
    assert Order.objects.get().prepay_id == "" and oa.received == []


def test_a_notice_of_a_payment_under_the_official_account_pays_the_order(
    oa, keys, member, api_client
):
    client = member_client(api_client, member)
    order_no = client.post("/api/v1/orders", IN_BROWSER, format="json").json()["order"]["order_no"]
    body, headers = wx.notice(keys.platform, wx.paid_resource(order_no, 12900, appid=OA_APP_ID))
    api_client.credentials()

    response = post_notice(api_client, body, headers)

    assert response.status_code == 200
    assert Order.objects.get().status == "paid"


def test_a_notice_under_an_app_id_not_ours_pays_nothing(oa, keys, member, api_client):
    client = member_client(api_client, member)
    order_no = client.post("/api/v1/orders", IN_BROWSER, format="json").json()["order"]["order_no"]
    body, headers = wx.notice(
        keys.platform, wx.paid_resource(order_no, 12900, appid="wx0000000000000000")
    )
    api_client.credentials()

    response = post_notice(api_client, body, headers)

    assert (response.status_code, response.json()["code"]) == (400, "invalid")
    assert Order.objects.get().status == "created" and not Payment.objects.exists()


def test_an_official_account_without_its_secret_is_a_configuration_problem(gateway, settings):
    settings.WECHAT_OA_APP_ID = OA_APP_ID
    settings.WECHAT_OA_APP_SECRET = ""

    assert WechatPayBackend.configuration_problems() == [
        "WECHAT_OA_APP_ID is set: WeChat's web OAuth needs WECHAT_OA_APP_SECRET too."
    ]
    settings.WECHAT_OA_APP_SECRET = "9a8b7c6d5e4f30211203f4e5d6c7b8a9"
    assert WechatPayBackend.configuration_problems() == []


@pytest.mark.parametrize("provider", ["stalls", "fails"])
def test_paying_while_wechat_stalls_or_fails_answers_503_in_time_and_the_order_waits(
    provider, gateway, keys, member, api_client, settings
):
    client = member_client(api_client, member)
    order_no = client.post("/api/v1/orders", BASKET, format="json").json()["order"]["order_no"]
    Order.objects.filter(order_no=order_no).update(prepay_id="")  # as if WeChat never answered
    settings.WECHATPAY_TIMEOUT_SECONDS = 1
    gateway.routes[JSAPI] = (
        Answer(200, b"{}", delay=5) if provider == "stalls" else Answer(500, b"<html>busy</html>")
    )

    started = time.monotonic()
    paid = client.post(f"/api/v1/orders/{order_no}/pay", headers={"Accept-Language": "zh-hans"})

    assert time.monotonic() - started < 3  # the web worker is not held past the timeout
    assert (paid.status_code, paid.json()["code"]) == (503, "payment_unavailable")
    assert paid.json()["message"] == "支付服务暂时没有响应，请稍后再试。"
    assert paid["Retry-After"] == "5"
    order = Order.objects.get()
    assert (order.status, order.prepay_id) == ("created", "")

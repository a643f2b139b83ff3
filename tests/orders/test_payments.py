"""The payment backend interface through the sandbox (the embedded default): notices that
cannot be read answer 400, never 500; the sandbox-pay endpoint exists only with the
sandbox; an unpaid order's payment params (orders/{order_no}/pay) only for its member while
it can be paid; a payment no order keeps (after cancellation, or of another amount) is
refunded and recorded for finance, once."""

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone
from rest_framework.test import APIClient

from apps.core import roles
from apps.orders.models import LatePayment, Order, Payment
from apps.orders.paying import late_payments_refund_due, orders_expire_due
from apps.orders.payments import (
    REFUND_SUCCESS,
    PaymentBackend,
    RefundResult,
    SandboxPaymentBackend,
    _sign,
)
from tests.conftest import run_together
from tests.core.factories import UserFactory
from tests.mall.factories import SkuFactory
from tests.members.factories import MemberFactory, member_client
from tests.stores.factories import StoreFactory

pytestmark = pytest.mark.django_db


class GatewayBackend(PaymentBackend):
    """A real gateway, as far as the sandbox-pay endpoint can tell."""

    name = "gateway"

    def prepay(self, order):
        return "prepay-1"

    def params(self, order, prepay_id):
        return {"package": prepay_id}

    def verify(self, body, headers):
        raise AssertionError("no notice reaches this gateway in these tests")

    def query(self, order):
        return None  # never paid

    def refund(self, *, transaction_id, refund_no, amount, total, reason):
        raise AssertionError("nothing is refunded in these tests")

    def refund_query(self, refund_no):
        return None


def test_a_backend_that_leaves_out_part_of_the_interface_cannot_be_made():
    class Partial(PaymentBackend):
        def prepay(self, order):
            return "prepay-1"

    with pytest.raises(TypeError):
        Partial()


@pytest.fixture
def order(api_client):
    SkuFactory(sku="BAG", name="帆布包", category="配饰", price=Decimal("129.00"))
    member = MemberFactory(home_store=StoreFactory(code="S009"))
    placed = member_client(api_client, member).post(
        "/api/v1/orders", {"lines": [{"sku": "BAG", "quantity": 1}]}, format="json"
    )
    assert placed.status_code == 201, placed.json()
    return Order.objects.get(order_no=placed.json()["order"]["order_no"])


def notify(api_client, body: bytes):
    api_client.credentials()
    return api_client.generic(
        "POST", "/api/v1/payments/notify", body, content_type="application/json"
    )


def signed(text: str) -> bytes:
    """A notice the sandbox signed, whatever its text holds."""
    return json.dumps({"body": text, "signature": _sign(text)}).encode()


MALFORMED = {
    "empty": lambda order: b"",
    "not JSON": lambda order: b"order_no=1&amount=1",
    "JSON, not an object": lambda order: b"[1, 2]",
    "no signature": lambda order: b'{"body": "{}"}',
    "a number as signature": lambda order: b'{"body": "{}", "signature": 12}',
    "signed, missing fields": lambda order: signed(f'{{"order_no": "{order.order_no}"}}'),
    "signed, amount not a number": lambda order: signed(
        f'{{"order_no": "{order.order_no}", "amount": "lots", "transaction_id": "t1"}}'
    ),
    "bad signature": lambda order: (
        SandboxPaymentBackend().notice(order).replace(b'"signature": "', b'"signature": "0')
    ),
    "signed, amount nothing": lambda order: signed(
        f'{{"order_no": "{order.order_no}", "amount": "0.00", "transaction_id": "t1"}}'
    ),
    "signed, amount below nothing": lambda order: signed(
        f'{{"order_no": "{order.order_no}", "amount": "-129.00", "transaction_id": "t1"}}'
    ),
}


@pytest.mark.parametrize("case", MALFORMED)
def test_a_malformed_notice_answers_400_and_changes_nothing(case, order, api_client):
    response = notify(api_client, MALFORMED[case](order))

    assert (response.status_code, response.json()["code"]) == (400, "invalid"), response.content
    order.refresh_from_db()
    assert order.status == "created" and order.paid_at is None
    assert not Payment.objects.exists() and not LatePayment.objects.exists()


def test_the_gateways_notices_are_never_throttled(api_client):
    answers = {notify(api_client, b"").status_code for _ in range(125)}  # anon: 120/min

    assert answers == {400}


def test_a_sandbox_notice_is_answered_as_wechat_pay_expects(order, api_client):
    response = notify(api_client, SandboxPaymentBackend().notice(order))

    assert (response.status_code, response.json()) == (200, {"code": "SUCCESS", "message": "OK"})
    assert Order.objects.get(pk=order.pk).status == "paid"


def test_sandbox_pay_is_not_found_unless_the_backend_is_the_sandbox(order, api_client, settings):
    settings.PAYMENT_BACKEND = "tests.orders.test_payments.GatewayBackend"
    client = member_client(api_client, order.member)

    response = client.post(f"/api/v1/orders/{order.order_no}/sandbox-pay")

    assert (response.status_code, response.json()["code"]) == (404, "not_found")
    assert Order.objects.get(pk=order.pk).status == "created" and not Payment.objects.exists()
    settings.PAYMENT_BACKEND = "apps.orders.payments.SandboxPaymentBackend"
    assert client.post(f"/api/v1/orders/{order.order_no}/sandbox-pay").status_code == 200


def test_an_unpaid_orders_payment_is_not_for_the_anonymous_nor_another_member(order, api_client):
    Order.objects.filter(pk=order.pk).update(prepay_id="")  # as if its gateway never answered
    api_client.credentials()
    anonymous = api_client.post(f"/api/v1/orders/{order.order_no}/pay")
    other = member_client(api_client, MemberFactory()).post(f"/api/v1/orders/{order.order_no}/pay")

    assert anonymous.status_code == 401
    assert (other.status_code, other.json()["code"]) == (404, "not_found")
    assert Order.objects.get(pk=order.pk).prepay_id == ""


@pytest.mark.parametrize("gone", ["cancelled", "expired", "paid"])
def test_an_order_that_cannot_be_paid_any_more_has_no_payment(gone, order, api_client):
    client = member_client(api_client, order.member)
    if gone == "cancelled":
        client.post(f"/api/v1/orders/{order.order_no}/cancel")
    elif gone == "expired":
        Order.objects.filter(pk=order.pk).update(expires_at=timezone.now())
    else:
        client.post(f"/api/v1/orders/{order.order_no}/sandbox-pay")

    response = client.post(f"/api/v1/orders/{order.order_no}/pay")

    assert (response.status_code, response.json()["code"]) == (400, "expired")
    assert Order.objects.get(pk=order.pk).prepay_id == "sandbox-" + order.order_no


def test_an_unpaid_order_is_paid_with_the_same_prepay_each_time(order, api_client, settings):
    settings.PAYMENT_BACKEND = "tests.orders.test_payments.GatewayBackend"
    client = member_client(api_client, order.member)

    first = client.post(f"/api/v1/orders/{order.order_no}/pay")
    again = client.post(f"/api/v1/orders/{order.order_no}/pay")

    # the sandbox opened it when it was placed: its prepay id is kept, not asked again
    expected = {"gateway": "gateway", "params": {"package": f"sandbox-{order.order_no}"}}
    assert (first.status_code, first.json()) == (200, expected)
    assert again.json() == expected


def test_a_payment_of_another_amount_cancels_the_order_and_is_refunded(
    order, api_client, django_capture_on_commit_callbacks
):
    notice = signed(f'{{"order_no": "{order.order_no}", "amount": "0.01", "transaction_id": "t1"}}')

    with django_capture_on_commit_callbacks(execute=True):
        response = notify(api_client, notice)

    assert (response.status_code, response.json()) == (200, {"code": "SUCCESS", "message": "OK"})
    assert Order.objects.get(pk=order.pk).status == "cancelled" and not Payment.objects.exists()
    late = LatePayment.objects.get()
    assert (late.reason, late.amount, late.status) == (
        "amount_mismatch",
        Decimal("0.01"),
        "refunded",
    )
    assert late.transaction_id == "t1" and late.refund_no == "late-t1"


def test_a_payment_after_cancellation_is_refunded_and_recorded_once(
    order, api_client, django_capture_on_commit_callbacks
):
    assert orders_expire_due(now=timezone.now() + timedelta(minutes=16)) == 1
    notice = SandboxPaymentBackend().notice(order)

    with django_capture_on_commit_callbacks(execute=True):
        first = notify(api_client, notice)
    with django_capture_on_commit_callbacks(execute=True):
        again = notify(api_client, notice)

    assert first.status_code == again.status_code == 200
    late = LatePayment.objects.get()
    assert (late.order_id, late.amount, late.status) == (order.pk, Decimal("129.00"), "refunded")
    assert late.gateway_refund_id == f"sandbox-refund-{late.refund_no}" and late.attempts == 1
    assert Order.objects.get(pk=order.pk).status == "cancelled" and not Payment.objects.exists()
    assert late_payments_refund_due() == 0  # nothing left to refund, nothing asked twice
    assert LatePayment.objects.get().attempts == 1


def test_finance_sees_late_payments_in_the_console_and_nobody_edits_them(order, client):
    late = LatePayment.objects.create(
        order=order,
        transaction_id="4200000001",
        amount=Decimal("129.00"),
        refund_no="late-1",
        reason=LatePayment.Reason.AMOUNT_MISMATCH,
        status=LatePayment.Status.ABNORMAL,
        last_error="WeChat Pay ABNORMAL (招商银行信用卡0403)",
    )
    finance = UserFactory(is_staff=True)
    finance.groups.add(Group.objects.get(name=roles.FINANCE))
    marketing = UserFactory(is_staff=True)
    marketing.groups.add(Group.objects.get(name=roles.MARKETING))

    client.force_login(finance)
    listed = client.get("/admin/orders/latepayment/")
    page = client.get(f"/admin/orders/latepayment/{late.pk}/change/")
    added = client.get("/admin/orders/latepayment/add/")
    client.force_login(marketing)
    hidden = client.get("/admin/orders/latepayment/")

    assert listed.status_code == 200 and "4200000001" in listed.content.decode()
    for shown in ("WeChat Pay ABNORMAL (招商银行信用卡0403)", "退款失败", "支付金额与订单不符"):
        assert shown in listed.content.decode()
    assert page.status_code == 200 and b'name="amount"' not in page.content
    assert added.status_code == 403 and hidden.status_code == 403


@pytest.mark.django_db(transaction=True)
def test_the_same_late_notice_five_times_at_once_is_refunded_once(api_client, monkeypatch):
    SkuFactory(sku="BAG", name="帆布包", category="配饰", price=Decimal("129.00"))
    member = MemberFactory(home_store=StoreFactory(code="S009"))
    placed = member_client(api_client, member).post(
        "/api/v1/orders", {"lines": [{"sku": "BAG", "quantity": 1}]}, format="json"
    )
    order = Order.objects.get(order_no=placed.json()["order"]["order_no"])
    orders_expire_due(now=timezone.now() + timedelta(minutes=16))
    notice = SandboxPaymentBackend().notice(order)
    refunds = []
    monkeypatch.setattr(
        SandboxPaymentBackend,
        "refund",
        lambda self, **asked: (
            refunds.append(asked) or RefundResult(asked["refund_no"], REFUND_SUCCESS, "r-1")
        ),
    )

    def post():
        return notify(APIClient(), notice).status_code

    answers = run_together(post, 5)

    assert answers == [200] * 5
    late = LatePayment.objects.get()
    assert (late.status, late.gateway_refund_id) == ("refunded", "r-1")
    assert [asked["refund_no"] for asked in refunds] == [late.refund_no]
    assert not Payment.objects.exists() and Order.objects.get(pk=order.pk).status == "cancelled"

"""售后: a member's refund request on an order paid online (lines or an amount, within what is
refundable, one open at a time, only their own), decided by the order's store's owner or
manager or by HQ, refunded through the gateway once whatever the clicks, and only then
recorded as the order's refund with points, growth and stock going back. Every step audited."""

from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from apps.core import roles
from apps.core.models import AuditEntry
from apps.mall.models import Reservation, Sku, Stock
from apps.mall.stock import stock_reserve
from apps.orders.after_sale import refund_request_approve, refund_requests_refund_due
from apps.orders.errors import PaymentGatewayError
from apps.orders.models import Order, Refund, RefundRequest
from apps.orders.payments import (
    REFUND_ABNORMAL,
    REFUND_PROCESSING,
    REFUND_SUCCESS,
    RefundResult,
    SandboxPaymentBackend,
)
from apps.points.models import EarningRule
from apps.stores.models import Staff
from tests.conftest import run_together
from tests.core.factories import UserFactory
from tests.mall.factories import SkuFactory
from tests.members.factories import MemberFactory, member_client
from tests.stores.factories import StaffFactory, StoreFactory

pytestmark = pytest.mark.django_db


def paid_order(member, lines=(("BAG", 2), ("CAP", 1))) -> Order:
    """An order the member placed in the mini-program and paid through the (sandbox) gateway,
    its goods reserved at HQ's warehouse and not handed over yet."""
    client = member_client(APIClient(), member)
    placed = client.post(
        "/api/v1/orders",
        {"lines": [{"sku": sku, "quantity": quantity} for sku, quantity in lines]},
        format="json",
    )
    assert placed.status_code == 201, placed.json()
    order = Order.objects.get(order_no=placed.json()["order"]["order_no"])
    stock_reserve(order_id=order.pk, store=None, items=list(lines))
    assert client.post(f"/api/v1/orders/{order.order_no}/sandbox-pay").status_code == 200
    order.refresh_from_db()
    return order


@pytest.fixture
def world():
    EarningRule.objects.create(name="每 1 元得 1 分", kind="rate", points_per_yuan=1)
    SkuFactory(sku="BAG", name="帆布包", category="配饰", price=Decimal("100.00"))
    SkuFactory(sku="CAP", name="棒球帽", category="配饰", price=Decimal("50.00"))
    for sku in Sku.objects.all():
        Stock.objects.create(sku=sku, store=None, on_hand=10)
    store = StoreFactory(code="S003")
    member = MemberFactory(home_store=store)
    order = paid_order(member)
    return {"store": store, "member": member, "order": order}


def ask(member, order, body, key=None):
    client = member_client(APIClient(), member)
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    return client.post(
        f"/api/v1/orders/{order.order_no}/refund-requests", body, format="json", **headers
    )


def staff_client(client, store, role):
    client.force_login(StaffFactory(store=store, role=role).user)
    return client


@pytest.fixture
def decide(django_capture_on_commit_callbacks):
    """Post a decision from the dashboard, running what waits for its commit (the refund)."""

    def post(client, asked, decision, note=""):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(
                f"/dashboard/stores/{asked.order.store.code}/refund-requests/{asked.pk}/decide/",
                {"decision": decision, "note": note},
            )

    return post


def held(sku: str) -> tuple[int, int]:
    stock = Stock.objects.get(sku__sku=sku, store=None)
    return stock.on_hand, stock.reserved


# Asking


def test_a_member_asks_for_lines_back_and_sees_the_request_on_the_order(world):
    member, order = world["member"], world["order"]

    answer = ask(member, order, {"lines": [{"sku": "BAG", "quantity": 1}], "reason": "damaged"})
    detail = member_client(APIClient(), member).get(f"/api/v1/orders/{order.order_no}")

    asked = RefundRequest.objects.get()
    assert answer.status_code == 201
    assert answer.json() == {"id": asked.pk, "status": "requested"}
    assert (asked.amount, asked.lines, asked.reason) == (
        Decimal("100.00"),
        [{"sku": "BAG", "quantity": 1}],
        "damaged",
    )
    shown = detail.json()["refund_requests"]
    assert [(r["id"], r["status"], r["amount"]) for r in shown] == [
        (asked.pk, "requested", "100.00")
    ]
    assert AuditEntry.objects.filter(action="refund_request.create", target_id=str(asked.pk))
    assert not Refund.objects.exists()


@pytest.mark.parametrize(
    "body",
    [
        {"amount": "250.01", "reason": "other"},
        {"lines": [{"sku": "BAG", "quantity": 3}], "reason": "other"},
        {"lines": [{"sku": "NOPE", "quantity": 1}], "reason": "other"},
        {"reason": "other"},
        {"amount": "10.00", "lines": [{"sku": "BAG", "quantity": 1}], "reason": "other"},
        {"amount": "10.00", "reason": "because"},
    ],
    ids=["amount_too_much", "more_units", "unknown_sku", "nothing", "both", "bad_reason"],
)
def test_a_request_for_more_than_refundable_or_unreadable_is_400(world, body):
    answer = ask(world["member"], world["order"], body)

    assert answer.status_code == 400 and answer.json()["code"] == "invalid"
    assert not RefundRequest.objects.exists()


def test_one_open_request_per_order(world):
    member, order = world["member"], world["order"]
    assert ask(member, order, {"amount": "10.00", "reason": "other"}).status_code == 201

    again = ask(member, order, {"amount": "20.00", "reason": "other"})

    assert again.status_code == 409 and again.json()["code"] == "duplicate"
    assert RefundRequest.objects.count() == 1


def test_an_unpaid_or_till_order_cannot_be_asked_for(world):
    member = world["member"]
    placed = member_client(APIClient(), member).post(
        "/api/v1/orders", {"lines": [{"sku": "CAP", "quantity": 1}]}, format="json"
    )
    unpaid = Order.objects.get(order_no=placed.json()["order"]["order_no"])
    till = world["order"]
    Order.objects.filter(pk=till.pk).update(channel="pos")

    for order in (unpaid, till):
        answer = ask(member, order, {"amount": "10.00", "reason": "other"})
        assert answer.status_code == 409 and answer.json()["code"] == "not_refundable"
    assert not RefundRequest.objects.exists()


def test_only_the_orders_member_asks_or_withdraws(world):
    other = MemberFactory()
    order = world["order"]
    answer = ask(other, order, {"amount": "10.00", "reason": "other"})
    mine = ask(world["member"], order, {"amount": "10.00", "reason": "other"}).json()["id"]

    withdraw = member_client(APIClient(), other).post(
        f"/api/v1/orders/{order.order_no}/refund-requests/{mine}/cancel"
    )

    assert answer.status_code == 404 and withdraw.status_code == 404
    assert RefundRequest.objects.get().status == "requested"


def test_a_member_withdraws_an_undecided_request_and_may_ask_again(world):
    member, order = world["member"], world["order"]
    first = ask(member, order, {"amount": "10.00", "reason": "other"}).json()["id"]

    withdrawn = member_client(APIClient(), member).post(
        f"/api/v1/orders/{order.order_no}/refund-requests/{first}/cancel"
    )
    again = ask(member, order, {"amount": "20.00", "reason": "other"})

    assert withdrawn.status_code == 200 and withdrawn.json()["status"] == "cancelled"
    assert again.status_code == 201
    assert AuditEntry.objects.filter(action="refund_request.cancel").count() == 1


def test_a_member_cannot_withdraw_an_approved_request(world, client, decide):
    member, order = world["member"], world["order"]
    asked_id = ask(member, order, {"amount": "10.00", "reason": "other"}).json()["id"]
    decide(
        staff_client(client, world["store"], Staff.Role.OWNER),
        RefundRequest.objects.get(),
        "approve",
    )

    withdraw = member_client(APIClient(), member).post(
        f"/api/v1/orders/{order.order_no}/refund-requests/{asked_id}/cancel"
    )

    assert withdraw.status_code == 409
    assert RefundRequest.objects.get().status == "refunded"


def test_a_retry_with_the_same_key_returns_the_first_answer(world):
    member, order = world["member"], world["order"]
    body = {"amount": "10.00", "reason": "other"}

    first = ask(member, order, body, key="k-1")
    again = ask(member, order, body, key="k-1")
    other = ask(member, order, {"amount": "11.00", "reason": "other"}, key="k-1")

    assert (again.status_code, again.json()) == (first.status_code, first.json())
    assert other.status_code == 409 and other.json()["code"] == "idempotency_conflict"
    assert RefundRequest.objects.count() == 1


# Deciding


def test_the_owner_approves_lines_the_gateway_refunds_and_everything_goes_back(
    world, client, decide
):
    member, order = world["member"], world["order"]
    ask(member, order, {"lines": [{"sku": "BAG", "quantity": 1}], "reason": "damaged"})
    asked = RefundRequest.objects.get()
    gateway = []
    sandbox_refund = SandboxPaymentBackend.refund

    def refund(self, **kwargs):
        gateway.append(kwargs)
        return sandbox_refund(self, **kwargs)

    owner = staff_client(client, world["store"], Staff.Role.OWNER)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(SandboxPaymentBackend, "refund", refund)
        answer = decide(owner, asked, "approve", note="同意退货")

    asked.refresh_from_db()
    order.refresh_from_db()
    refund = Refund.objects.get()
    assert answer.status_code == 302
    assert (asked.status, asked.note, asked.refund, asked.cash) == (
        "refunded",
        "同意退货",
        refund,
        Decimal("100.00"),
    )
    assert [(g["refund_no"], g["amount"], g["total"]) for g in gateway] == [
        (asked.refund_no, Decimal("100.00"), Decimal("250.00"))
    ]
    assert (order.status, order.refunded_amount) == ("partially_refunded", Decimal("100.00"))
    assert refund.points_reversed == 100  # 250 earned, 100 of 250 yuan back
    assert held("BAG") == (10, 1) and held("CAP") == (10, 1)
    assert set(
        AuditEntry.objects.filter(target_id=str(asked.pk)).values_list("action", flat=True)
    ) == {"refund_request.create", "refund_request.approve", "refund_request.refund"}


def test_an_amount_refund_releases_no_stock(world, hq_client, decide):
    ask(world["member"], world["order"], {"amount": "25.00", "reason": "other"})
    asked = RefundRequest.objects.get()

    decide(hq_client, asked, "approve")

    asked.refresh_from_db()
    assert asked.status == "refunded" and asked.refund.amount == Decimal("25.00")
    assert held("BAG") == (10, 2) and held("CAP") == (10, 1)


def test_the_owner_refuses_with_a_note_the_member_reads(world, client, decide):
    member, order = world["member"], world["order"]
    ask(member, order, {"amount": "10.00", "reason": "changed_mind"})
    asked = RefundRequest.objects.get()

    decide(staff_client(client, world["store"], Staff.Role.MANAGER), asked, "refuse", "已拆封")
    detail = member_client(APIClient(), member).get(f"/api/v1/orders/{order.order_no}")

    shown = detail.json()["refund_requests"][0]
    assert (shown["status"], shown["note"]) == ("refused", "已拆封")
    assert not Refund.objects.exists()
    assert AuditEntry.objects.filter(action="refund_request.refuse").count() == 1


@pytest.mark.parametrize("role", [Staff.Role.CLERK, Staff.Role.GUIDE])
def test_a_clerk_or_guide_cannot_see_nor_decide(world, client, role, decide):
    ask(world["member"], world["order"], {"amount": "10.00", "reason": "other"})
    asked = RefundRequest.objects.get()
    staff_client(client, world["store"], role)

    listed = client.get("/dashboard/stores/S003/refund-requests/")
    approved = decide(client, asked, "approve")

    assert listed.status_code == 403 and approved.status_code == 403
    asked.refresh_from_db()
    assert asked.status == "requested" and not Refund.objects.exists()


def test_another_stores_owner_cannot_decide(world, client, decide):
    ask(world["member"], world["order"], {"amount": "10.00", "reason": "other"})
    asked = RefundRequest.objects.get()
    other = StoreFactory(code="S002")
    staff_client(client, other, Staff.Role.OWNER)

    through_own = client.post(
        f"/dashboard/stores/S002/refund-requests/{asked.pk}/decide/", {"decision": "approve"}
    )
    through_theirs = decide(client, asked, "approve")

    assert through_own.status_code == 404 and through_theirs.status_code == 404
    asked.refresh_from_db()
    assert asked.status == "requested" and not Refund.objects.exists()


def test_hq_customer_service_approves_in_the_console_finance_cannot(
    world, client, django_capture_on_commit_callbacks
):
    ask(world["member"], world["order"], {"amount": "10.00", "reason": "other"})
    asked = RefundRequest.objects.get()
    finance = UserFactory(is_staff=True)
    finance.groups.add(Group.objects.get(name=roles.FINANCE))
    service = UserFactory(is_staff=True)
    service.groups.add(Group.objects.get(name=roles.CUSTOMER_SERVICE))
    action = {"action": "approve_refund", "_selected_action": [asked.pk], "note": "客服同意"}

    client.force_login(finance)
    refused = client.post("/admin/orders/refundrequest/", action)
    client.force_login(service)
    with django_capture_on_commit_callbacks(execute=True):
        done = client.post("/admin/orders/refundrequest/", action)

    assert refused.status_code == 403 and done.status_code == 302
    asked.refresh_from_db()
    assert (asked.status, asked.note, asked.decided_by) == ("refunded", "客服同意", service)


# The gateway


def test_a_gateway_that_cannot_be_reached_leaves_it_approved_and_a_retry_refunds(
    world, client, monkeypatch, decide
):
    ask(
        world["member"],
        world["order"],
        {"lines": [{"sku": "CAP", "quantity": 1}], "reason": "other"},
    )
    asked = RefundRequest.objects.get()
    owner = staff_client(client, world["store"], Staff.Role.OWNER)

    def unreachable(self, **kwargs):
        raise PaymentGatewayError("connect timeout")

    monkeypatch.setattr(SandboxPaymentBackend, "refund", unreachable)
    decide(owner, asked, "approve")
    page = client.get("/dashboard/stores/S003/refund-requests/")
    asked.refresh_from_db()
    assert (asked.status, asked.attempts, asked.last_error) == ("approved", 1, "connect timeout")
    assert "connect timeout" in page.content.decode()
    assert not Refund.objects.exists() and held("CAP") == (10, 1)

    monkeypatch.undo()
    decide(owner, asked, "approve")

    asked.refresh_from_db()
    assert (asked.status, asked.last_error) == ("refunded", "")
    assert Refund.objects.count() == 1 and held("CAP") == (10, 0)


def test_a_gateway_that_refuses_fails_the_request_and_applies_nothing(
    world, hq_client, monkeypatch, decide
):
    ask(world["member"], world["order"], {"amount": "10.00", "reason": "other"})
    asked = RefundRequest.objects.get()
    monkeypatch.setattr(
        SandboxPaymentBackend,
        "refund",
        lambda self, **kw: RefundResult(kw["refund_no"], REFUND_ABNORMAL, "r-9", None, "账户异常"),
    )

    decide(hq_client, asked, "approve")

    asked.refresh_from_db()
    order = Order.objects.get(pk=world["order"].pk)
    assert (asked.status, asked.last_error) == ("failed", "账户异常")
    assert (order.status, order.refunded_amount) == ("paid", Decimal("0.00"))
    assert not Refund.objects.exists()


def test_a_processing_refund_is_recorded_once_by_its_notice(world, hq_client, monkeypatch, decide):
    ask(world["member"], world["order"], {"amount": "10.00", "reason": "other"})
    asked = RefundRequest.objects.get()
    monkeypatch.setattr(
        SandboxPaymentBackend,
        "refund",
        lambda self, **kw: RefundResult(kw["refund_no"], REFUND_PROCESSING, "r-7"),
    )
    decide(hq_client, asked, "approve")
    asked.refresh_from_db()
    assert (asked.status, asked.gateway_refund_id) == ("approved", "r-7")
    done = RefundResult(asked.refund_no, REFUND_SUCCESS, "r-7", Decimal("10.00"))
    monkeypatch.setattr(SandboxPaymentBackend, "verify", lambda self, body, headers: done)

    answers = [
        APIClient().post("/api/v1/payments/notify", b"{}", content_type="application/json")
        for _ in range(2)
    ]

    asked.refresh_from_db()
    assert [a.status_code for a in answers] == [200, 200]
    assert asked.status == "refunded" and Refund.objects.count() == 1
    assert refund_requests_refund_due() == 0


# Races and pages


@pytest.mark.django_db(transaction=True)
def test_five_approvals_at_once_refund_once(world, monkeypatch):
    ask(
        world["member"],
        world["order"],
        {"lines": [{"sku": "BAG", "quantity": 2}], "reason": "other"},
    )
    asked = RefundRequest.objects.get()
    owner = StaffFactory(store=world["store"], role=Staff.Role.OWNER).user
    manager = StaffFactory(store=world["store"], role=Staff.Role.MANAGER).user
    asked_of_gateway = []
    sandbox_refund = SandboxPaymentBackend.refund

    def refund(self, **kwargs):
        asked_of_gateway.append(kwargs["refund_no"])
        return sandbox_refund(self, **kwargs)

    monkeypatch.setattr(SandboxPaymentBackend, "refund", refund)
    deciders = iter([owner, manager, owner, manager, owner])

    def approve():
        return refund_request_approve(request_id=asked.pk, actor=next(deciders)).pk

    run_together(approve, 5)

    asked.refresh_from_db()
    assert asked.status == "refunded"
    assert set(asked_of_gateway) == {asked.refund_no}
    assert Refund.objects.count() == 1
    assert AuditEntry.objects.filter(action="refund_request.approve").count() == 1
    assert AuditEntry.objects.filter(action="refund_request.refund").count() == 1
    assert Reservation.objects.get(stock__sku__sku="BAG").released == 2
    assert held("BAG") == (10, 0)


def test_the_dashboard_list_takes_the_same_queries_for_one_or_many(world, client, decide):
    store = world["store"]
    owner = staff_client(client, store, Staff.Role.OWNER)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert owner.get("/dashboard/stores/S003/refund-requests/").status_code == 200
        return len(captured)

    ask(world["member"], world["order"], {"amount": "10.00", "reason": "other"})
    one = queries()
    for _ in range(4):
        member = MemberFactory(home_store=store)
        order = paid_order(member, lines=(("CAP", 1),))
        ask(member, order, {"amount": "5.00", "reason": "other"})
    decide(owner, RefundRequest.objects.order_by("pk").last(), "refuse", "不行")

    assert queries() == one


def test_the_periodic_job_asks_again_for_a_refund_the_gateway_missed(world, hq_client, decide):
    ask(world["member"], world["order"], {"amount": "10.00", "reason": "other"})
    asked = RefundRequest.objects.get()

    def unreachable(self, **kwargs):
        raise PaymentGatewayError("502")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(SandboxPaymentBackend, "refund", unreachable)
        decide(hq_client, asked, "approve")
    assert RefundRequest.objects.get().status == "approved"

    assert refund_requests_refund_due() == 1
    assert refund_requests_refund_due() == 0
    asked.refresh_from_db()
    assert (asked.status, asked.attempts) == ("refunded", 2)
    assert Refund.objects.count() == 1


def test_an_approval_whose_task_was_lost_is_refunded_once_by_the_periodic_job(
    world, hq_client, decide
):
    from apps.orders.tasks import orders_expire_task, refund_request_refund_task
    from tests.core.jobs import broker_down

    ask(world["member"], world["order"], {"amount": "10.00", "reason": "other"})
    asked = RefundRequest.objects.get()
    with broker_down(refund_request_refund_task):
        decide(hq_client, asked, "approve")
    assert RefundRequest.objects.get().status == "approved"

    orders_expire_task()
    refund_request_refund_task(asked.pk)  # the lost task turns up after all

    asked.refresh_from_db()
    assert asked.status == "refunded"
    assert Refund.objects.count() == 1
    assert AuditEntry.objects.filter(action="refund_request.refund").count() == 1

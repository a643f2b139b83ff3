"""POS refunds: a refund_id answers its first refund, and another body under it is a
conflict, with or without an Idempotency-Key."""

from decimal import Decimal

import pytest

from apps.orders.models import Order
from tests.pos.conftest import PHONE
from tests.pos.test_presence import sale

pytestmark = pytest.mark.django_db


def test_a_refund_id_replayed_with_another_body_is_a_conflict(pos, shop):
    pos.post(
        "/api/pos/v1/orders", sale({"phone": PHONE}, points=0, external_id="T-R"), format="json"
    )
    url = "/api/pos/v1/orders/T-R/refunds"
    first = pos.post(url, {"refund_id": "r1", "amount": "10.00"}, format="json")

    same = pos.post(url, {"refund_id": "r1", "amount": "10"}, format="json")
    other_amount = pos.post(url, {"refund_id": "r1", "amount": "20.00"}, format="json")
    by_lines = pos.post(
        url, {"refund_id": "r1", "lines": [{"sku": "TEE", "quantity": 1}]}, format="json"
    )
    keyed = pos.post(
        url, {"refund_id": "r1", "amount": "30.00"}, format="json", HTTP_IDEMPOTENCY_KEY="new-key"
    )

    assert first.status_code == 201 and same.json() == first.json()
    for response in (other_amount, by_lines, keyed):
        assert (response.status_code, response.json()["code"]) == (409, "idempotency_conflict")
    order = Order.objects.get()
    assert order.refunded_amount == Decimal("10.00") and order.refunds.count() == 1


def test_a_refund_id_by_lines_replays_only_with_the_same_lines(pos, shop):
    body = sale({"phone": PHONE}, points=0, external_id="T-L")
    body["lines"].append({"sku": "MUG", "quantity": 1, "unit_price": "30.00"})
    pos.post("/api/pos/v1/orders", body, format="json")
    url = "/api/pos/v1/orders/T-L/refunds"
    lines = [{"sku": "TEE", "quantity": 1}, {"sku": "MUG", "quantity": 1}]
    first = pos.post(url, {"refund_id": "r1", "lines": lines}, format="json")

    reordered = pos.post(url, {"refund_id": "r1", "lines": lines[::-1]}, format="json")
    fewer = pos.post(url, {"refund_id": "r1", "lines": lines[:1]}, format="json")
    as_amount = pos.post(url, {"refund_id": "r1", "amount": first.json()["amount"]}, format="json")

    assert first.status_code == 201 and reordered.json() == first.json()
    assert (fewer.status_code, fewer.json()["code"]) == (409, "idempotency_conflict")
    assert (as_amount.status_code, as_amount.json()["code"]) == (409, "idempotency_conflict")
    assert Order.objects.get().refunds.count() == 1

"""A store's order numbers taken apart from the sale (ORDER_NUMBERS_APART, on PostgreSQL):
no sale holds the store's counter while it finishes, and a sale that fails leaves a gap in
the day's numbers, never a number twice."""

import threading
from decimal import Decimal

import pytest
from django.db import transaction
from rest_framework.test import APIClient

from apps.orders.checkout import Checkout, order_place_paid
from apps.orders.models import Order
from apps.orders.pricing import LineInput
from tests.conftest import in_thread, run_together
from tests.mall.factories import SkuFactory
from tests.stores.factories import StoreFactory, pos_key_for

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "numbering"])


@pytest.fixture
def store():
    SkuFactory(sku="TEE", price=Decimal("99"))
    return StoreFactory(code="S001")


def sale(store, external_id: str) -> str:
    return order_place_paid(
        checkout=Checkout(
            store=store,
            channel="pos",
            lines=[LineInput(sku="TEE", quantity=1, unit_price=Decimal("99"))],
        ),
        external_id=external_id,
    ).order_no


@pytest.mark.parametrize("apart", [True, False])
def test_a_sale_still_finishing_after_its_number_holds_up_the_next_only_when_not_apart(
    settings, store, apart
):
    settings.ORDER_NUMBERS_APART = apart
    assert sale(store, "FIRST").endswith("-0001")  # the day's counter row exists from here
    numbered, release, numbers = threading.Event(), threading.Event(), {}

    def slow_sale():
        with transaction.atomic():
            numbers["slow"] = sale(store, "SLOW")
            numbered.set()
            release.wait(timeout=30)

    slow = in_thread(slow_sale)
    assert numbered.wait(timeout=30)
    quick = in_thread(lambda: numbers.setdefault("quick", sale(store, "QUICK")))
    quick.join(timeout=3)
    finished_while_the_other_was_open = not quick.is_alive()
    release.set()
    slow.join(timeout=30)
    quick.join(timeout=30)

    assert finished_while_the_other_was_open is apart
    assert {numbers["slow"][-4:], numbers["quick"][-4:]} == {"0002", "0003"}
    assert Order.objects.count() == 3


def test_a_sale_that_fails_after_its_number_leaves_a_gap_not_a_number_twice(settings, store):
    settings.ORDER_NUMBERS_APART = True
    first = sale(store, "A")
    with pytest.raises(RuntimeError), transaction.atomic():
        sale(store, "B")
        raise RuntimeError("the till's request failed after the sale was numbered")

    after = sale(store, "C")

    assert (first[-4:], after[-4:]) == ("0001", "0003")
    assert list(Order.objects.order_by("order_no").values_list("external_id", flat=True)) == [
        "A",
        "C",
    ]


def test_tills_selling_at_once_at_one_store_get_one_number_each(settings, store):
    settings.ORDER_NUMBERS_APART = True
    tills = iter(range(8))

    numbers = run_together(lambda: sale(store, f"TILL-{next(tills)}"), 8)

    assert sorted(number[-4:] for number in numbers) == [f"{n:04d}" for n in range(1, 9)]
    assert Order.objects.count() == 8


def test_a_tills_order_through_the_pos_api_is_numbered_apart_and_its_replay_takes_no_number(
    settings, store
):
    settings.ORDER_NUMBERS_APART = True
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {pos_key_for(store)}")
    body = {"external_id": "T-1", "lines": [{"sku": "TEE", "quantity": 1, "unit_price": "99.00"}]}

    first = client.post("/api/pos/v1/orders", body, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    replay = client.post("/api/pos/v1/orders", body, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    after = sale(store, "T-2")

    assert first.status_code == 201, first.json()
    assert replay.json() == first.json() and first.json()["order_no"].endswith("-0001")
    assert after.endswith("-0002")

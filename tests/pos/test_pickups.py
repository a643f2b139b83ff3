"""POS `pickups/{pickup_code}/complete`: an online order picked up at this store, once."""

import pytest

from apps.mall.models import Stock
from apps.orders.models import Fulfilment
from apps.orders.paying import order_cancel
from tests.members.factories import MemberFactory
from tests.orders.factories import online_order, stocked
from tests.pos.conftest import till
from tests.stores.factories import StoreFactory, pos_key_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def pickup(shop):
    stocked("CAP", stores=[shop["store"]])
    return online_order(
        store=shop["store"], member=shop["member"], items=[("CAP", 2)], pickup_code="PK123456"
    )


def complete(pos, code="PK123456", **headers):
    return pos.post(f"/api/pos/v1/pickups/{code}/complete", **headers)


def test_the_store_completes_its_pickup_once(pos, pickup, shop):
    done = complete(pos)

    assert done.status_code == 200, done.json()
    body = done.json()
    assert (body["order_no"], body["status"]) == (pickup.order_no, "completed")
    assert body["member_phone_masked"] == "139****5678"
    assert body["lines"] == [
        {"sku": "CAP", "name": "商品 CAP", "quantity": 2, "refunded_quantity": 0}
    ]
    assert (body["fulfilment"]["type"], body["fulfilment"]["status"]) == ("pickup", "done")
    assert Stock.objects.get(sku__sku="CAP", store=shop["store"]).on_hand == 8

    again = complete(pos)
    assert (again.status_code, again.json()["code"]) == (409, "already_used")
    assert Stock.objects.get(sku__sku="CAP", store=shop["store"]).on_hand == 8


def test_a_retry_with_its_idempotency_key_answers_the_first_answer(pos, pickup):
    first = complete(pos, HTTP_IDEMPOTENCY_KEY="k-1")
    retry = complete(pos, HTTP_IDEMPOTENCY_KEY="k-1")

    assert first.status_code == retry.status_code == 200
    assert retry.json() == first.json()
    assert retry.headers["Idempotent-Replayed"] == "true"


def test_another_stores_key_finds_no_such_pickup(pickup):
    elsewhere = till(pos_key_for(StoreFactory(code="S777")))

    refused = complete(elsewhere)

    assert (refused.status_code, refused.json()["code"]) == (404, "not_found")
    assert Fulfilment.objects.get().status == "to_hand_over"


def test_an_unpaid_or_cancelled_order_is_not_handed_over(pos, shop):
    stocked("CAP", stores=[shop["store"]])
    member = MemberFactory()
    online_order(
        store=shop["store"], member=member, items=[("CAP", 1)], pickup_code="UNPAID", paid=False
    )
    cancelled = online_order(
        store=shop["store"], member=member, items=[("CAP", 1)], pickup_code="GONE", paid=False
    )
    order_cancel(order=cancelled)

    unpaid, gone = complete(pos, "UNPAID"), complete(pos, "GONE")

    assert (unpaid.status_code, unpaid.json()["code"]) == (409, "not_paid")
    assert (gone.status_code, gone.json()["code"]) == (409, "cancelled")
    assert gone.json()["message"]
    assert not Fulfilment.objects.filter(status="done").exists()

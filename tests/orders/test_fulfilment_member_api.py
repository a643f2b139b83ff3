"""A member's online order: its fulfilment in the order's detail (the pickup code to its
member only), the pickup code's QR, and saying a parcel came."""

import pytest
from django.utils import timezone

from apps.orders.fulfilment import delivery_ship
from apps.orders.models import Fulfilment
from tests.members.factories import MemberFactory, member_client
from tests.orders.factories import online_order, stocked
from tests.stores.factories import StoreFactory
from tests.stores.test_posters import decode

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop(db):
    store = StoreFactory(code="S003")
    stocked("TEE", stores=[store])
    return {"store": store, "member": MemberFactory()}


@pytest.fixture
def app(api_client, shop):
    return member_client(api_client, shop["member"])


def test_the_order_shows_its_pickup_with_the_code_and_its_qr(app, shop):
    order = online_order(store=shop["store"], member=shop["member"], pickup_code="PK123456")

    detail = app.get(f"/api/v1/orders/{order.order_no}").json()
    image = app.get(f"/api/v1/me/orders/{order.order_no}/pickup.png")

    assert detail["fulfilment"] == {
        "type": "pickup",
        "status": "to_hand_over",
        "pickup_code": "PK123456",
        "carrier": "",
        "tracking_no": "",
        "shipped_at": None,
        "done_at": None,
        "address": None,
    }
    assert image.status_code == 200 and image["Content-Type"] == "image/png"
    assert decode(image.content) == ["PK123456"]


def test_no_qr_for_another_members_order_nor_a_pickup_not_waiting(app, api_client, shop):
    mine_unpaid = online_order(store=shop["store"], member=shop["member"], paid=False)
    theirs = online_order(store=shop["store"], member=MemberFactory())
    parcel = online_order(store=shop["store"], member=shop["member"], kind="delivery")

    for order in (mine_unpaid, theirs, parcel):
        refused = app.get(f"/api/v1/me/orders/{order.order_no}/pickup.png")
        assert (refused.status_code, refused.json()["code"]) == (404, "not_found")


def test_a_delivery_shows_its_masked_address_and_a_till_order_no_fulfilment(app, shop):
    parcel = online_order(store=shop["store"], member=shop["member"], kind="delivery")

    detail = app.get(f"/api/v1/orders/{parcel.order_no}").json()["fulfilment"]

    assert (detail["type"], detail["pickup_code"]) == ("delivery", None)
    assert detail["address"] == {
        "name": "李四",
        "phone": "137****1111",
        "region": "浙江省/杭州市/西湖区",
        "detail": "文三路 1 号",
    }
    Fulfilment.objects.all().delete()
    assert app.get(f"/api/v1/orders/{parcel.order_no}").json()["fulfilment"] is None


def test_the_member_receives_a_shipped_parcel_once(app, shop):
    parcel = online_order(store=shop["store"], member=shop["member"], kind="delivery")
    url = f"/api/v1/orders/{parcel.order_no}/receive"

    early = app.post(url)
    assert (early.status_code, early.json()["code"]) == (409, "not_shipped")
    assert Fulfilment.objects.get().status == "to_hand_over"

    delivery_ship(order_id=parcel.pk, ship_from=None, carrier="顺丰", tracking_no="SF1", actor=None)
    received = app.post(url, HTTP_IDEMPOTENCY_KEY="r-1")
    retried = app.post(url, HTTP_IDEMPOTENCY_KEY="r-1")
    again = app.post(url)

    assert (received.status_code, received.json()["status"]) == (200, "completed")
    fulfilment = received.json()["fulfilment"]
    assert (fulfilment["status"], fulfilment["carrier"], fulfilment["tracking_no"]) == (
        "done",
        "顺丰",
        "SF1",
    )
    assert fulfilment["done_at"] is not None
    assert retried.json() == received.json()
    assert (again.status_code, again.json()["code"]) == (409, "not_shipped")
    assert Fulfilment.objects.get().done_at <= timezone.now()


def test_another_members_parcel_is_not_found(app, shop):
    parcel = online_order(store=shop["store"], member=MemberFactory(), kind="delivery")
    delivery_ship(order_id=parcel.pk, ship_from=None, carrier="顺丰", tracking_no="SF1", actor=None)

    refused = app.post(f"/api/v1/orders/{parcel.order_no}/receive")

    assert refused.status_code == 404
    assert Fulfilment.objects.get().status == "shipped"

"""A store's online orders to hand over: the list (no pickup codes on it), shipping by its
owner or manager, and pickups handed over at the counter by its own staff."""

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from apps.core.models import AuditEntry
from apps.mall.models import Stock
from apps.orders.errors import FulfilmentNotFound, PickupAlreadyUsed, PickupNotFound
from apps.orders.models import Fulfilment
from tests.core.factories import UserFactory
from tests.dashboards.test_overview import person
from tests.members.factories import MemberFactory
from tests.orders.factories import online_order, stocked
from tests.stores.factories import StoreFactory

pytestmark = pytest.mark.django_db
LIST = "/dashboard/stores/S003/online-orders/"
COUNTER = "/dashboard/stores/S003/counter/"


@pytest.fixture
def shop():
    store, other = StoreFactory(code="S003"), StoreFactory(code="S002")
    stocked("TEE", stores=[store, other], on_hand=100)
    return {"store": store, "other": other, "member": MemberFactory(phone="13900001111")}


def _said(page) -> list[tuple[str, str]]:
    return [(message.level_tag, message.message) for message in page.context["messages"]]


def _refused(error) -> list[tuple[str, str]]:
    """What the page says for `error`, in its language."""
    with translation.override("zh-hans"):
        return [("error", error.render())]


def _orders(shop, n: int, **fields) -> list:
    return [
        online_order(store=shop["store"], member=shop["member"], items=[("TEE", 1)], **fields)
        for _n in range(n)
    ]


def test_the_list_holds_what_the_store_hands_over_and_no_pickup_code(client, shop):
    pickup = online_order(store=shop["store"], member=shop["member"], pickup_code="PK123456")
    parcel = online_order(
        store=shop["other"], member=shop["member"], kind="delivery", ship_from=shop["store"]
    )
    online_order(store=shop["store"], member=shop["member"], paid=False)  # not paid
    online_order(store=shop["store"], member=shop["member"], kind="delivery")  # HQ ships it
    online_order(store=shop["other"], member=shop["member"])  # picked up elsewhere
    owner = person(client, store=shop["store"], role="owner")

    page = owner.get(LIST)

    assert page.status_code == 200
    assert [order.pk for order in page.context["page"]] == [pickup.pk, parcel.pk]
    html = page.content.decode()
    assert "PK123456" not in html
    assert "137****1111" in html and "13700001111" not in html and "139****1111" in html
    assert page.context["may_ship"] is True


def test_the_list_costs_the_same_queries_for_few_or_many_orders(client, shop):
    owner = person(client, store=shop["store"], role="owner")
    _orders(shop, 2)
    _orders(shop, 1, kind="delivery", ship_from=shop["store"])
    owner.get(LIST)  # sessions, caches

    with CaptureQueriesContext(connection) as few:
        owner.get(LIST)
    _orders(shop, 10)
    _orders(shop, 5, kind="delivery", ship_from=shop["store"])
    with CaptureQueriesContext(connection) as many:
        page = owner.get(LIST)

    assert len(page.context["page"]) == 18
    assert len(many) == len(few)


def test_the_owner_ships_a_parcel_with_its_waybill(client, shop):
    parcel = online_order(
        store=shop["store"], member=shop["member"], kind="delivery", ship_from=shop["store"]
    )
    owner = person(client, store=shop["store"], role="manager")

    shipped = owner.post(
        f"{LIST}{parcel.order_no}/ship/", {"carrier": "顺丰", "tracking_no": "SF100"}, follow=True
    )

    assert shipped.status_code == 200
    fulfilment = Fulfilment.objects.get(pk=parcel.pk)
    assert (fulfilment.status, fulfilment.carrier, fulfilment.tracking_no) == (
        "shipped",
        "顺丰",
        "SF100",
    )
    assert Stock.objects.get(sku__sku="TEE", store=shop["store"]).on_hand == 98
    assert list(shipped.context["page"]) == []


@pytest.mark.parametrize("who", ["clerk", "hq", "other_owner"])
def test_only_its_owner_or_manager_ships_a_stores_parcel(client, shop, who):
    parcel = online_order(
        store=shop["store"], member=shop["member"], kind="delivery", ship_from=shop["store"]
    )
    if who == "clerk":
        person(client, store=shop["store"], role="clerk")
    elif who == "hq":
        client.force_login(UserFactory(is_staff=True, is_superuser=True))
    else:
        person(client, store=shop["other"], role="owner")

    refused = client.post(
        f"{LIST}{parcel.order_no}/ship/", {"carrier": "顺丰", "tracking_no": "SF100"}
    )

    assert refused.status_code == (404 if who == "other_owner" else 403)
    assert Fulfilment.objects.get(pk=parcel.pk).status == "to_hand_over"
    assert Stock.objects.get(sku__sku="TEE", store=shop["store"]).on_hand == 100


def test_a_store_cannot_ship_another_places_parcel(client, shop):
    from_hq = online_order(store=shop["store"], member=shop["member"], kind="delivery")
    owner = person(client, store=shop["store"], role="owner")

    page = owner.post(
        f"{LIST}{from_hq.order_no}/ship/", {"carrier": "顺丰", "tracking_no": "SF1"}, follow=True
    )

    assert _said(page) == _refused(FulfilmentNotFound())
    assert Fulfilment.objects.get(pk=from_hq.pk).status == "to_hand_over"


def test_the_counter_shows_a_pickups_lines_then_hands_them_over(client, shop):
    order = online_order(
        store=shop["store"], member=shop["member"], items=[("TEE", 3)], pickup_code="PK123456"
    )
    clerk = person(client, store=shop["store"], role="clerk")

    shown = clerk.post(f"{COUNTER}pickup/", {"code": "PK123456"})

    assert shown.status_code == 200
    assert shown.context["pickup"].pk == order.pk
    assert "商品 TEE" in shown.content.decode()
    assert Fulfilment.objects.get().status == "to_hand_over"

    done = clerk.post(f"{COUNTER}pickup/", {"code": "PK123456", "confirm": "1"}, follow=True)

    fulfilment = Fulfilment.objects.get()
    assert (fulfilment.status, fulfilment.done_by) == ("done", shown.wsgi_request.user)
    assert order.order_no in done.content.decode()
    assert Stock.objects.get(sku__sku="TEE", store=shop["store"]).on_hand == 97
    assert AuditEntry.objects.get(action="fulfilment.pickup").actor == fulfilment.done_by

    again = clerk.post(f"{COUNTER}pickup/", {"code": "PK123456", "confirm": "1"}, follow=True)
    assert _said(again) == _refused(PickupAlreadyUsed())
    assert Stock.objects.get(sku__sku="TEE", store=shop["store"]).on_hand == 97


def test_only_the_stores_own_staff_hand_over_its_pickups(client, shop):
    online_order(store=shop["store"], member=shop["member"], pickup_code="PK123456")
    hq = Client()
    hq.force_login(UserFactory(is_staff=True, is_superuser=True))
    elsewhere = person(client, store=shop["other"], role="owner")

    by_hq = hq.post(f"{COUNTER}pickup/", {"code": "PK123456", "confirm": "1"})
    by_other_store = elsewhere.post(f"{COUNTER}pickup/", {"code": "PK123456", "confirm": "1"})
    at_own_counter = elsewhere.post(
        "/dashboard/stores/S002/counter/pickup/", {"code": "PK123456", "confirm": "1"}, follow=True
    )

    assert by_hq.status_code == 403
    assert by_other_store.status_code == 404
    assert _said(at_own_counter) == _refused(PickupNotFound())
    assert Fulfilment.objects.get().status == "to_hand_over"
    assert not AuditEntry.objects.filter(action="fulfilment.pickup").exists()

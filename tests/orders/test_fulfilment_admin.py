"""HQ ships the parcels that leave its warehouse from the console: operations only."""

import pytest

from apps.core import roles
from apps.mall.models import Stock
from apps.orders.models import Fulfilment
from tests.core.test_admin_roles import role_user
from tests.members.factories import MemberFactory
from tests.orders.factories import online_order, stocked
from tests.stores.factories import StoreFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def parcels(db):
    store = StoreFactory(code="S003")
    stocked("TEE", stores=[store])
    member = MemberFactory()
    return {
        "warehouse": online_order(store=store, member=member, kind="delivery"),
        "store": online_order(store=store, member=member, kind="delivery", ship_from=store),
    }


def ship_url(order) -> str:
    return f"/admin/orders/fulfilment/{order.pk}/ship/"


def test_operations_ship_a_warehouse_parcel(client, parcels):
    client.force_login(role_user(roles.OPERATIONS))
    order = parcels["warehouse"]

    listed = client.get("/admin/orders/fulfilment/")
    form = client.get(ship_url(order))
    shipped = client.post(ship_url(order), {"carrier": "京东物流", "tracking_no": "JD1"})

    assert listed.status_code == form.status_code == 200
    assert ship_url(order) in listed.content.decode()
    assert ship_url(parcels["store"]) not in listed.content.decode()
    assert shipped.status_code == 302
    fulfilment = Fulfilment.objects.get(pk=order.pk)
    assert (fulfilment.status, fulfilment.carrier, fulfilment.tracking_no) == (
        "shipped",
        "京东物流",
        "JD1",
    )
    assert Stock.objects.get(sku__sku="TEE", store=None).on_hand == 8


def test_the_console_does_not_ship_a_stores_parcel(client, parcels):
    client.force_login(role_user(roles.OPERATIONS))

    refused = client.post(ship_url(parcels["store"]), {"carrier": "顺丰", "tracking_no": "SF1"})

    assert refused.status_code == 200 and refused.context["form"].non_field_errors()
    assert Fulfilment.objects.get(pk=parcels["store"].pk).status == "to_hand_over"


@pytest.mark.parametrize("role", [roles.FINANCE, roles.CUSTOMER_SERVICE, roles.MARKETING])
def test_other_roles_do_not_ship(client, parcels, role):
    client.force_login(role_user(role))

    refused = client.post(ship_url(parcels["warehouse"]), {"carrier": "顺丰", "tracking_no": "1"})

    assert refused.status_code == 403
    assert Fulfilment.objects.get(pk=parcels["warehouse"].pk).status == "to_hand_over"

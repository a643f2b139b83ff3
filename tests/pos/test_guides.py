"""A sale at a till credits its guide code only to a guide of this store who still works
there (apps.members.guides.guide_for, the rule of joins and counters too)."""

import itertools

import pytest

from apps.orders.models import Order
from tests.stores.factories import StaffFactory, StoreFactory

pytestmark = pytest.mark.django_db

numbers = itertools.count()


def sold(pos, guide_code: str) -> Order:
    external_id = f"G-{next(numbers)}"
    response = pos.post(
        "/api/pos/v1/orders",
        {
            "external_id": external_id,
            "lines": [{"sku": "TEE", "quantity": 1, "unit_price": "99.00"}],
            "guide_code": guide_code,
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    return Order.objects.get(external_id=external_id)


def test_the_stores_own_guide_is_credited(pos, shop):
    guide = StaffFactory(store=shop["store"], role="guide")

    assert sold(pos, guide.guide_code.lower()).guide == guide


def test_a_guide_who_left_the_store_is_not_credited(pos, shop):
    left = StaffFactory(store=shop["store"], role="guide", is_active=False)

    order = sold(pos, left.guide_code)

    assert order.guide is None and order.status == "paid"


def test_another_stores_guide_is_not_credited(pos, shop):
    elsewhere = StaffFactory(store=StoreFactory(), role="guide")

    assert sold(pos, elsewhere.guide_code).guide is None

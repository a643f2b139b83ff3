"""The order pages of the HQ console."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.orders.checkout import Checkout, order_place_paid
from apps.orders.pricing import LineInput
from apps.points.models import EarningRule
from tests.members.factories import MemberFactory
from tests.stores.factories import StoreFactory

pytestmark = pytest.mark.django_db


def test_an_order_page_shows_lines_payments_and_the_points_it_caused(hq_client):
    EarningRule.objects.create(name="每 1 元得 1 分", kind="rate", points_per_yuan=1)
    member = MemberFactory(phone="13911112222")
    order = order_place_paid(
        checkout=Checkout(
            store=StoreFactory(),
            channel="pos",
            member=member,
            lines=[LineInput(sku="TEE", name="T恤", quantity=2, unit_price=Decimal("49.50"))],
        ),
        external_id="POS-778",
    )

    by_phone = hq_client.get("/admin/orders/order/?q=13911112222")
    by_external = hq_client.get("/admin/orders/order/?q=POS-778")
    page = hq_client.get(f"/admin/orders/order/{order.pk}/change/").content.decode()

    assert order.order_no in by_phone.content.decode()
    assert order.order_no in by_external.content.decode()
    assert "T恤" in page and "99.00" in page
    assert f"订单 {order.order_no} 消费得积分" in page


def test_an_order_search_looks_each_field_up_in_its_index(hq_client):
    """By the number, the till's id typed in other letters, the member's phone however
    typed; never by upper-casing a column (Django's own exact search), which no index
    answers, so that on a brand's millions of orders a search reads only what it finds."""
    store = StoreFactory()

    def sale(member, external_id):
        return order_place_paid(
            checkout=Checkout(
                store=store,
                channel="pos",
                member=member,
                lines=[LineInput(sku="TEE", quantity=1, unit_price=Decimal("10.00"))],
            ),
            external_id=external_id,
        )

    order = sale(MemberFactory(phone="13911112222"), "POS-778")
    other = sale(MemberFactory(phone="13933334444"), "POS-779")
    lower = sale(None, "web-12a")

    def found(term):
        response = hq_client.get("/admin/orders/order/", {"q": term})
        return {o.pk for o in response.context["cl"].result_list}

    with CaptureQueriesContext(connection) as searched:
        assert found(order.order_no) == {order.pk}
        assert found("pos-778") == {order.pk}
        assert found("+86 139 1111 2222") == {order.pk}
        assert found(other.order_no) == {other.pk}
        assert found("WEB-12A") == {lower.pk}
        assert found("nothing") == set()
    assert not [q["sql"] for q in searched if "UPPER(" in q["sql"]]

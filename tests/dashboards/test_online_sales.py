"""A store's overview shows its online sales (its mall, its pay QR, the mini-program) beside
the till's; another store's people never see them."""

from datetime import timedelta
from decimal import Decimal
from itertools import count

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.orders.checkout import Checkout, order_place_paid
from apps.orders.pricing import LineInput
from apps.orders.refunds import RefundLineInput, order_refund
from tests.core.factories import UserFactory
from tests.members.factories import MemberFactory
from tests.stores.factories import StaffFactory, StoreFactory

pytestmark = pytest.mark.django_db
numbers = count(1)


def sell(store, channel, amount, *, member=None, when=None, quantity=1):
    return order_place_paid(
        checkout=Checkout(
            store=store,
            channel=channel,
            member=member,
            lines=[LineInput(sku="X", quantity=quantity, unit_price=Decimal(amount))],
        ),
        external_id=f"O-{next(numbers)}",
        now=when,
    )


def owner_of(client, store):
    user = UserFactory()
    StaffFactory(user=user, store=store)
    client.force_login(user)
    return client


def test_the_overview_shows_the_till_and_online_apart(client):
    store, other = StoreFactory(code="S002"), StoreFactory(code="S003")
    regular, newcomer = MemberFactory(home_store=store), MemberFactory(home_store=store)
    sell(store, "pos", "300.00", member=regular)
    sell(store, "pos", "100.00")
    mall = sell(store, "mall", "40.00", member=regular, quantity=3)
    sell(store, "store_pay", "128.00", member=regular)
    paid_by_amount = sell(store, "miniprogram", "60.00", member=newcomer)
    sell(store, "platform:meituan", "500.00")  # neither the till nor online
    sell(store, "mall", "999.00", when=timezone.now() - timedelta(days=40))
    sell(other, "mall", "77.00", member=MemberFactory(home_store=other))
    order_refund(order=mall, refund_id="R1", lines=[RefundLineInput(sku="X", quantity=1)])
    order_refund(order=paid_by_amount, refund_id="R2", amount=Decimal("10.50"))

    page = owner_of(client, store).get("/dashboard/stores/S002/")

    channels = page.context["figures"]["channels"]
    till = {"orders": 2, "sales": Decimal("400.00"), "members": 1}
    online = {"orders": 3, "sales": Decimal("257.50"), "members": 2}
    assert channels == {
        "till": {"today": till, "month": till, "last_30": till},
        "online": {"today": online, "month": online, "last_30": online},
    }
    html = page.content.decode()
    assert "线上" in html and "¥257.50" in html and "¥400.00" in html


def test_another_stores_owner_sees_none_of_its_online_sales(client):
    store, other = StoreFactory(code="S002"), StoreFactory(code="S003")
    sell(store, "mall", "88.00")
    stranger = owner_of(client, other)

    assert stranger.get("/dashboard/stores/S002/").status_code == 404
    figures = stranger.get("/dashboard/stores/S003/").context["figures"]
    assert figures["channels"]["online"]["month"] == {
        "orders": 0,
        "sales": Decimal(0),
        "members": 0,
    }


def test_online_sales_cost_the_overview_no_more_queries(client):
    store = StoreFactory(code="S002")
    owner = owner_of(client, store)

    def queries(orders):
        for _n in range(orders):
            sell(store, "mall", "10.00", member=MemberFactory(home_store=store))
            sell(store, "pos", "10.00", member=MemberFactory(home_store=store))
        with CaptureQueriesContext(connection) as captured:
            assert owner.get("/dashboard/stores/S002/").status_code == 200
        return len(captured)

    assert queries(1) == queries(10)

"""Guides: who recruited members and sold what, per period; each guide's own join QR."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from apps.members.models import Member
from apps.orders.checkout import Checkout, order_place_paid
from apps.orders.pricing import LineInput
from tests.core.factories import UserFactory
from tests.dashboards.test_overview import person
from tests.members.factories import MemberFactory
from tests.stores.factories import StaffFactory, StoreFactory

pytestmark = pytest.mark.django_db


def sale(store, guide, amount, n, member=None):
    order_place_paid(
        checkout=Checkout(
            store=store,
            channel="pos",
            member=member,
            guide=guide,
            lines=[LineInput(sku="X", quantity=1, unit_price=Decimal(amount))],
        ),
        external_id=f"G-{n}",
    )


@pytest.fixture
def shop():
    store = StoreFactory(code="S001")
    mei = StaffFactory(store=store, role="guide", user=UserFactory(first_name="美"))
    lei = StaffFactory(store=store, role="guide", user=UserFactory(first_name="磊"))
    return {"store": store, "mei": mei, "lei": lei}


def test_the_leaderboard_ranks_guides_by_sales_with_recruits(client, shop):
    store, mei, lei = shop["store"], shop["mei"], shop["lei"]
    MemberFactory.create_batch(3, home_store=store, guide=mei)
    MemberFactory(home_store=store, guide=lei)
    old = MemberFactory(home_store=store, guide=lei)
    Member.objects.filter(pk=old.pk).update(joined_at=timezone.now() - timedelta(days=400))
    sale(store, lei, "500.00", 1)
    sale(store, mei, "120.00", 2)
    sale(store, None, "999.00", 3)
    owner = person(client, store=store)

    rows = owner.get("/dashboard/stores/S001/guides/?period=30").context["rows"]

    figures = [(r["staff"], r["recruited"], r["orders"], r["sales"]) for r in rows]
    assert figures[:2] == [(lei, 1, 1, Decimal("500.00")), (mei, 3, 1, Decimal("120.00"))]
    assert rows[0]["height"] == 100 and rows[1]["height"] == 24


def test_a_guides_own_poster_carries_their_code(client, shop):
    owner = person(client, store=shop["store"])
    code = shop["mei"].guide_code

    poster = owner.get(f"/dashboard/stores/S001/guides/{code}.png")

    assert poster.status_code == 200 and poster.content.startswith(b"\x89PNG")
    other = StaffFactory(store=StoreFactory(code="S002"), role="guide")
    assert owner.get(f"/dashboard/stores/S001/guides/{other.guide_code}.png").status_code == 404


def test_the_guides_join_address_credits_them():
    from apps.stores.posters import guide_join_url

    guide = StaffFactory(store=StoreFactory(code="S009"), role="guide")

    assert guide_join_url(guide).endswith(f"/s/S009/?guide={guide.guide_code}")


def test_a_guides_own_pay_poster_is_only_for_their_store(client, shop):
    owner = person(client, store=shop["store"])
    code = shop["mei"].guide_code

    poster = owner.get(f"/dashboard/stores/S001/guides/{code}/pay.png")

    assert poster.status_code == 200 and poster.content.startswith(b"\x89PNG")
    other = StaffFactory(store=StoreFactory(code="S002"), role="guide")
    assert owner.get(f"/dashboard/stores/S001/guides/{other.guide_code}/pay.png").status_code == 404

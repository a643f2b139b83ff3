"""One checkout builder for every channel (apps.orders.builder): lines priced as sent or
from the catalogue, a till's member present to spend points, the guide of this store only;
and a till's sale that spends its member's proof with it, or nothing."""

from decimal import Decimal

import pytest
from django.db import transaction

from apps.members.credentials import Identified, member_code_issue, member_identify
from apps.members.errors import MemberNotPresent
from apps.members.models import MemberCode
from apps.orders.builder import ItemInput, basket_store, checkout_build, order_place_at_till
from apps.orders.errors import DuplicateOrder, ProductUnavailable, StoreRequired
from apps.orders.models import Order
from apps.orders.pricing import LineInput
from apps.stores.errors import StoreNotFound
from tests.mall.factories import SkuFactory
from tests.members.factories import MemberFactory
from tests.stores.factories import StaffFactory, StoreFactory

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def store():
    SkuFactory(sku="TEE", name="T恤", category="上衣", price=D("99"))
    SkuFactory(sku="OLD", name="旧款", category="上衣", price=D("9"), active=False)
    return StoreFactory(code="S001")


def test_lines_keep_their_order_and_only_those_without_a_price_take_the_catalogues(store):
    checkout = checkout_build(
        store=store,
        channel="pos",
        items=[
            ItemInput(sku="MUG", quantity=1, unit_price=D("30.00"), name="杯子"),
            ItemInput(sku="TEE", quantity=2),
            ItemInput(sku="TEE", quantity=1, unit_price=D("80.00")),
        ],
    )

    assert checkout.lines == [
        LineInput(sku="MUG", quantity=1, unit_price=D("30.00"), name="杯子"),
        LineInput(sku="TEE", quantity=2, unit_price=D("99"), name="T恤"),
        LineInput(sku="TEE", quantity=1, unit_price=D("80.00")),
    ]
    assert (checkout.member, checkout.guide, checkout.coupon_codes) == (None, None, [])


@pytest.mark.parametrize("sku", ["NOPE", "OLD"])
def test_an_unknown_or_retired_item_without_a_price_is_refused(store, sku):
    with pytest.raises(ProductUnavailable):
        checkout_build(store=store, channel="miniprogram", items=[ItemInput(sku=sku, quantity=1)])


@pytest.mark.parametrize(
    ("present", "points", "refused"),
    [(False, 0, False), (False, 1, True), (True, 500, False)],
)
def test_a_till_spends_points_only_of_a_member_who_is_here(store, present, points, refused):
    member = MemberFactory()
    identified = Identified(member=member, member_code="6" * 18 if present else "")

    def build():
        return checkout_build(
            store=store,
            channel="pos",
            items=[ItemInput(sku="TEE", quantity=1)],
            identified=identified,
            points=points,
        )

    if refused:
        with pytest.raises(MemberNotPresent):
            build()
    else:
        assert (build().member, build().points) == (member, points)


def test_a_member_buying_for_themselves_is_present_by_signing_in(store):
    member = MemberFactory()

    checkout = checkout_build(
        store=store,
        channel="miniprogram",
        items=[ItemInput(sku="TEE", quantity=1)],
        member=member,
        points=500,
        coupon_codes=["ABC"],
    )

    assert (checkout.member, checkout.points, checkout.coupon_codes) == (member, 500, ["ABC"])


@pytest.mark.parametrize(("own", "working", "credited"), [(1, 1, 1), (1, 0, 0), (0, 1, 0)])
def test_the_guide_is_credited_only_at_their_own_store_while_there(store, own, working, credited):
    guide = StaffFactory(
        store=store if own else StoreFactory(), role="guide", is_active=bool(working)
    )

    checkout = checkout_build(
        store=store,
        channel="pos",
        items=[ItemInput(sku="TEE", quantity=1)],
        guide_code=guide.guide_code,
    )

    assert checkout.guide == (guide if credited else None)


def test_a_basket_is_for_the_store_named_else_the_home_store(store):
    elsewhere = StoreFactory(code="S002")
    member = MemberFactory(home_store=store)

    assert basket_store(member, "s002") == elsewhere
    assert basket_store(member, "") == store
    with pytest.raises(StoreRequired):
        basket_store(MemberFactory(home_store=None))
    with pytest.raises(StoreNotFound) as unknown:
        basket_store(member, "nope")
    assert unknown.value.params == {"code": "NOPE"}


def test_a_till_sale_spends_the_member_code_with_it_or_not_at_all(store):
    member = MemberFactory()
    code, _expires = member_code_issue(member=member)
    identified = member_identify(store=store, member_code=code)
    checkout = checkout_build(
        store=store, channel="pos", items=[ItemInput(sku="TEE", quantity=1)], identified=identified
    )
    order_place_at_till(checkout=checkout, identified=None, external_id="T-1")

    with pytest.raises(DuplicateOrder), transaction.atomic():  # as a caller that carries on
        order_place_at_till(checkout=checkout, identified=identified, external_id="T-1")
    assert MemberCode.objects.get().used_at is None
    order = order_place_at_till(checkout=checkout, identified=identified, external_id="T-2")

    assert MemberCode.objects.get().used_at is not None
    assert list(Order.objects.values_list("external_id", flat=True).order_by("pk")) == [
        "T-1",
        "T-2",
    ]
    assert order.member == member

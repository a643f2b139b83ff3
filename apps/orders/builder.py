"""One way to turn what a channel asks to buy into a `Checkout`, for a till (the POS API,
a store's counter), the mini-program and the mall: the lines priced as sent or from the
catalogue, the member, their presence when a till spends their points, and the guide the
sale is credited to."""

from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction

from apps.mall.selectors import ForSale
from apps.members.credentials import (
    Identified,
    member_code_retire,
    member_presence_require,
    member_presence_spend,
)
from apps.members.guides import guide_for
from apps.members.models import Member
from apps.orders.checkout import Checkout, catalogue_read, order_place_paid
from apps.orders.errors import StoreRequired
from apps.orders.models import Order
from apps.orders.pricing import LineInput
from apps.orders.selectors import catalogue_lines
from apps.stores.models import Staff, Store
from apps.stores.selectors import store_get_by_code


@dataclass(frozen=True)
class ItemInput:
    """A line as a channel sends it: a till may price it; without a price (a member's
    basket, a counter row left blank) the catalogue does."""

    sku: str
    quantity: int
    unit_price: Decimal | None = None
    name: str = ""


def checkout_build(
    *,
    store: Store,
    channel: str,
    items: list[ItemInput],
    identified: Identified | None = None,
    member: Member | None = None,
    coupon_codes: list[str] | None = None,
    points: int = 0,
    guide_code: str | Staff | None = "",
) -> Checkout:
    """The checkout of `items` at `store`. A till names its member as `identified`
    (`member_identify`): points are spent only if they are present
    (`member_presence_require`). A member buying for themselves (the mini-program, the
    mall) is `member`, present by their own sign-in. The guide is credited only if they
    work at `store` (`guide_for`): the one whose code came with the order, or the member's
    own guide (a Staff). Asks the catalogue once, at the member's tier, for the lines and
    the quote; nothing is written."""
    if identified is not None:
        member = identified.member
    catalogue = catalogue_read(member, (item.sku for item in items))
    lines = _lines(items, catalogue.products)
    if identified is not None:
        member_presence_require(identified, points=points)
    return Checkout(
        store=store,
        channel=channel,
        member=member,
        lines=lines,
        catalogue=catalogue,
        coupon_codes=coupon_codes or [],
        points=points,
        guide=guide_for(store, guide_code),
    )


@transaction.atomic(savepoint=False)  # a caller that carries on after its errors takes its own
def order_place_at_till(
    *, checkout: Checkout, identified: Identified | None, external_id: str, scanned: str = ""
) -> Order:
    """A sale a till (the POS API, a counter) records as paid, with the proof its member
    gave spent in its transaction (`member_presence_spend`): a member code or a texted
    code pays for one sale, or for none if the sale fails. `scanned`, the member code that
    identified the member, is spent with it though the sale only earns: else whoever
    holds it could identify with it again and spend the member's points while it lives."""
    member_presence_spend(identified, store=checkout.store)
    if scanned and not (identified and identified.member_code == scanned):
        member_code_retire(code=scanned, store=checkout.store)
    return order_place_paid(checkout=checkout, external_id=external_id)


def basket_store(member: Member, store_code: str = "") -> Store:
    """The store a member's own order is for: the one named, else their home store."""
    code = store_code.upper()
    store = store_get_by_code(code) if code else member.home_store
    if store is None:
        raise StoreRequired()
    return store


def _lines(items: list[ItemInput], products: dict[str, ForSale]) -> list[LineInput]:
    """The items as lines in their order, those without a price priced by the catalogue."""
    priced = iter(
        catalogue_lines(
            [(item.sku, item.quantity) for item in items if item.unit_price is None], products
        )
    )
    return [
        next(priced)
        if item.unit_price is None
        else LineInput(
            sku=item.sku, name=item.name, quantity=item.quantity, unit_price=item.unit_price
        )
        for item in items
    ]

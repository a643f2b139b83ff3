"""在线收款: a member pays a store an amount through the store's pay QR. The payment is an
order of the store in the "store_pay" channel with one line of that amount, priced, placed
and paid like any order (the tier discount where HQ lets the store give it, coupons,
points), so it earns, refunds and shows on the dashboard as every sale does.

Signing in makes a person a member of the brand; a member who has joined no store yet (no
home store) is offered this one as they pay, and joins it in the same request (the join
a store's QR makes, credited to the guide whose code the QR carried). Their member
benefits come with joining: until they join, the payment is not theirs to make as a
member, and the quote shows what joining saves on it."""

from dataclasses import dataclass, replace
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from apps.coupons.rules import CouponLine
from apps.coupons.selectors import coupon_outcome, usable_coupons
from apps.members.models import Member
from apps.members.services import member_store_join
from apps.orders.checkout import (
    Checkout,
    Priced,
    coupon_channel,
    order_place,
    order_quote,
)
from apps.orders.errors import JoinToPay, StorePayOff
from apps.orders.models import Order
from apps.orders.pricing import LineInput
from apps.points.selectors import points_available
from apps.stores.models import Staff, Store
from apps.stores.rules import store_open_check

CHANNEL = "store_pay"
SKU = "STORE-PAY"
LINE_NAME = "到店付款 / Pay in store"


@dataclass(frozen=True)
class Suggestion:
    """The coupon and points that take most off a payment, for the page to preselect."""

    coupon_code: str | None
    points: int


def store_pay_check(store: Store) -> None:
    """Raise unless the store is open and takes payments by its pay QR."""
    store_open_check(store)
    if not store.pay_enabled:
        raise StorePayOff(code=store.code)


def store_pay_checkout(
    *,
    store: Store,
    member: Member,
    amount: Decimal,
    coupon_codes: list[str] = (),
    points: int = 0,
    guide: Staff | None = None,
) -> Checkout:
    return Checkout(
        store=store,
        channel=CHANNEL,
        lines=[LineInput(sku=SKU, name=LINE_NAME, quantity=1, unit_price=amount)],
        member=member,
        coupon_codes=list(coupon_codes),
        points=points,
        guide=guide,
    )


def join_saves(checkout: Checkout, priced: Priced) -> Decimal:
    """What the member's benefits take off this payment: its quote as a non-member less
    `priced`, its quote as the member."""
    as_guest = order_quote(replace(checkout, member=None, coupon_codes=[], points=0))
    return as_guest.quote.payable - priced.quote.payable


def store_pay_suggestion(checkout: Checkout) -> Suggestion:
    """The member's usable coupon that takes most off this payment (after their tier
    discount), by the coupons' own rules, then the points that may pay what is left."""
    plain = order_quote(replace(checkout, coupon_codes=[], points=0))
    lines = [
        CouponLine(
            sku=line.sku,
            category=line.category,
            quantity=line.quantity,
            unit_price=line.unit_price,
            amount=line.after_member,
        )
        for line in plain.quote.lines
    ]
    channel, now = coupon_channel(checkout.channel), timezone.now()
    best, best_discount = None, Decimal(0)
    for coupon in usable_coupons(checkout.member, store=checkout.store, channel=channel):
        outcome = coupon_outcome(
            coupon, lines=lines, store=checkout.store, channel=channel, now=now
        )
        if outcome.applies and outcome.discount > best_discount:
            best, best_discount = coupon.code, outcome.discount
    available = points_available(checkout.member)
    points = 0
    if available > 0:
        with_points = order_quote(
            replace(checkout, coupon_codes=[best] if best else [], points=available)
        )
        points = with_points.quote.points_used
    return Suggestion(coupon_code=best, points=points)


@transaction.atomic
def store_pay_place(*, checkout: Checkout, join: bool, external_id: str = "", now=None) -> Order:
    """The payment placed, unpaid: its coupons held and points taken until it is paid (or
    given back when it expires). A member with no home store joins the store first when
    `join` says so (a member with one is never moved); without it they are refused. An
    `external_id` is the store's once (order_place)."""
    store_pay_check(checkout.store)
    member = checkout.member
    if member.home_store_id is None:
        if not join:
            raise JoinToPay(code=checkout.store.code)
        member_store_join(member=member, store=checkout.store, guide=checkout.guide)
    return order_place(checkout=checkout, external_id=external_id, now=now)

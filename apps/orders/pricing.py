"""The checkout pricing engine, as pure functions (no database): every channel's quote.

member price or tier discount → coupons → points deduction → payable. Every discount is
allocated to the lines in whole fen by largest remainder, so each line knows exactly what
it cost (partial refunds are exact) and the lines always add up to the totals.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from decimal import ROUND_FLOOR, Decimal
from typing import Protocol

from django.utils.translation import gettext as _

from apps.core.money import money
from apps.coupons.rules import CouponLine, CouponOutcome, CouponTerms, coupon_discount
from apps.orders.errors import RefundLineUnknown, RefundTooLarge
from apps.points.rules import deduction

FEN = Decimal("0.01")


@dataclass(frozen=True)
class LineInput:
    """A line as a channel asks for it, before pricing."""

    sku: str
    quantity: int
    unit_price: Decimal
    name: str = ""


@dataclass(frozen=True)
class PriceLine:
    sku: str
    name: str
    category: str
    quantity: int
    unit_price: Decimal
    member_price: Decimal | None = None


@dataclass(frozen=True)
class PricedLine:
    sku: str
    name: str
    category: str
    quantity: int
    unit_price: Decimal
    list_amount: Decimal  # quantity × unit price
    member_discount: Decimal = Decimal(0)
    coupon_discount: Decimal = Decimal(0)
    points_deduction: Decimal = Decimal(0)

    @property
    def after_member(self) -> Decimal:
        return self.list_amount - self.member_discount

    @property
    def paid(self) -> Decimal:
        return self.after_member - self.coupon_discount - self.points_deduction


@dataclass(frozen=True)
class CouponOffer:
    """A coupon the member brought: its terms, or why it was turned down before pricing."""

    code: str
    label: str
    stackable: bool
    terms: CouponTerms | None = None
    refused: str = ""  # a reason found outside pricing (expired, other store, used…)
    refused_code: str = "not_eligible"


@dataclass(frozen=True)
class PointsOffer:
    wanted: int
    available: int
    rate: int  # points per yuan
    cap: Decimal  # the largest share of the order points may pay


@dataclass
class Quote:
    lines: list[PricedLine]
    applied: list[dict] = field(default_factory=list)  # {type, label, amount}
    rejected: list[dict] = field(default_factory=list)  # {coupon_code, code, message}
    coupons_used: dict[str, Decimal] = field(default_factory=dict)  # code → discount
    points_used: int = 0

    @property
    def subtotal(self) -> Decimal:
        return sum((line.list_amount for line in self.lines), Decimal(0))

    @property
    def member_discount(self) -> Decimal:
        return sum((line.member_discount for line in self.lines), Decimal(0))

    @property
    def coupon_discount(self) -> Decimal:
        return sum((line.coupon_discount for line in self.lines), Decimal(0))

    @property
    def points_deduction(self) -> Decimal:
        return sum((line.points_deduction for line in self.lines), Decimal(0))

    @property
    def payable(self) -> Decimal:
        return sum((line.paid for line in self.lines), Decimal(0))


def allocate(total: Decimal, weights: list[Decimal]) -> list[Decimal]:
    """Share `total` (whole fen) over `weights` in proportion, in whole fen, by largest
    remainder (ties to the earlier line): the parts always add up to the total exactly."""
    total_fen = int((total / FEN).to_integral_value())
    weight_sum = sum(weights, Decimal(0))
    if total_fen == 0 or weight_sum <= 0:
        return [Decimal(0)] * len(weights)
    exact = [Decimal(total_fen) * w / weight_sum for w in weights]
    floors = [int(x.to_integral_value(rounding=ROUND_FLOOR)) for x in exact]
    by_remainder = sorted(range(len(weights)), key=lambda i: (floors[i] - exact[i], i))
    for i in by_remainder[: total_fen - sum(floors)]:
        floors[i] += 1
    return [Decimal(fen) * FEN for fen in floors]


def member_discount(
    *, unit_price: Decimal, quantity: int, member_price: Decimal | None, tier_percent: Decimal
) -> Decimal:
    """What a member saves on `quantity` units: the member price (the tier's where it has
    one) where it is lower, else their tier's discount on the amount."""
    if member_price is not None and member_price < unit_price:
        return money((unit_price - member_price) * quantity)
    return money(money(unit_price * quantity) * tier_percent / 100)


def member_unit_price(
    *, unit_price: Decimal, member_price: Decimal | None, tier_percent: Decimal
) -> Decimal:
    """What a member pays for one unit, as a checkout of that one unit prices it: the
    price the mall shows them."""
    return unit_price - member_discount(
        unit_price=unit_price, quantity=1, member_price=member_price, tier_percent=tier_percent
    )


def _member_step(lines: list[PriceLine], *, is_member: bool, tier_percent: Decimal):
    priced, applied = [], []
    for line in lines:
        list_amount = money(line.unit_price * line.quantity)
        discount = (
            member_discount(
                unit_price=line.unit_price,
                quantity=line.quantity,
                member_price=line.member_price,
                tier_percent=tier_percent,
            )
            if is_member
            else Decimal(0)
        )
        priced.append(
            PricedLine(
                sku=line.sku,
                name=line.name,
                category=line.category,
                quantity=line.quantity,
                unit_price=line.unit_price,
                list_amount=list_amount,
                member_discount=discount,
            )
        )
    total = sum((p.member_discount for p in priced), Decimal(0))
    if total:
        applied.append({"type": "member", "label": _("Member price"), "amount": total})
    return priced, applied


def _coupon_step(priced: list[PricedLine], offers: list[CouponOffer], quote: Quote) -> list:
    for offer in offers:
        if offer.refused:
            quote.rejected.append(
                {"coupon_code": offer.code, "code": offer.refused_code, "message": offer.refused}
            )
            continue
        if quote.coupons_used and (
            not offer.stackable or not all(o.stackable for o in _used(offers, quote))
        ):
            quote.rejected.append(
                {
                    "coupon_code": offer.code,
                    "code": "not_eligible",
                    "message": _("only one coupon can be used on this order"),
                }
            )
            continue
        coupon_lines = [
            CouponLine(
                sku=line.sku,
                category=line.category,
                quantity=line.quantity,
                unit_price=line.unit_price,
                amount=line.after_member - line.coupon_discount,
            )
            for line in priced
        ]
        outcome: CouponOutcome = coupon_discount(offer.terms, coupon_lines)
        if not outcome.applies:
            quote.rejected.append(
                {"coupon_code": offer.code, "code": "not_eligible", "message": outcome.reason}
            )
            continue
        weights = [cl.amount if offer.terms.covers(cl) else Decimal(0) for cl in coupon_lines]
        if offer.terms.kind == "gift":  # the free product's own line bears it
            weights = [
                cl.amount if cl.sku == offer.terms.gift_sku else Decimal(0) for cl in coupon_lines
            ]
        shares = allocate(outcome.discount, weights)
        priced = [
            replace(line, coupon_discount=line.coupon_discount + share)
            for line, share in zip(priced, shares, strict=True)
        ]
        quote.coupons_used[offer.code] = outcome.discount
        quote.applied.append(
            {
                "type": "coupon",
                "label": offer.label,
                "amount": outcome.discount,
                "coupon_code": offer.code,
            }
        )
    return priced


def _used(offers: list[CouponOffer], quote: Quote) -> list[CouponOffer]:
    return [offer for offer in offers if offer.code in quote.coupons_used]


def price(
    lines: list[PriceLine],
    *,
    is_member: bool,
    tier_percent: Decimal = Decimal(0),
    coupons: list[CouponOffer] = (),
    points: PointsOffer | None = None,
) -> Quote:
    """The quote of API.md, itemised: what each step took off and which coupons were
    turned down and why."""
    priced, applied = _member_step(lines, is_member=is_member, tier_percent=tier_percent)
    quote = Quote(lines=priced, applied=applied)
    priced = _coupon_step(priced, list(coupons), quote)
    if points and points.wanted > 0:
        after_coupons = sum((line.paid for line in priced), Decimal(0))
        used, amount = deduction(
            wanted=points.wanted,
            available=points.available,
            order_amount=after_coupons,
            rate=points.rate,
            cap=points.cap,
        )
        if used:
            shares = allocate(amount, [line.paid for line in priced])
            priced = [
                replace(line, points_deduction=share)
                for line, share in zip(priced, shares, strict=True)
            ]
            quote.points_used = used
            quote.applied.append(
                {
                    "type": "points",
                    "label": _("%(points)d points") % {"points": used},
                    "amount": amount,
                }
            )
    quote.lines = priced
    return quote


# Refunds: what each line gives back, and how much of the order's points and growth goes
# with it.


class RefundableLine(Protocol):
    """An order line as a refund sees it (an OrderLine, or plain data in a test)."""

    sku: str
    quantity: int
    paid: Decimal
    refunded_quantity: int
    refunded_amount: Decimal


def refund_units(lines: Sequence[RefundableLine], asked: dict[str, int]) -> list[int]:
    """The units of each line refunded now, given the units `asked` for per SKU: a SKU's
    units go to its lines in order, each up to what it has not yet refunded."""
    wanted = dict(asked)
    units = []
    for line in lines:
        take = min(line.quantity - line.refunded_quantity, wanted.get(line.sku, 0))
        wanted[line.sku] = wanted.get(line.sku, 0) - take
        units.append(take)
    return units


def refund_shares(
    lines: Sequence[RefundableLine], asked: dict[str, int], amount: Decimal | None
) -> list[Decimal]:
    """What each line gives back now, in whole fen: by the units `asked` per SKU (a line's
    last units take what it has left), or, when none are asked, `amount` shared over what
    the lines have left in proportion."""
    refundable = [line.paid - line.refunded_amount for line in lines]
    if asked:
        missing = dict(asked)
        shares = []
        for line, quantity, left_money in zip(
            lines, refund_units(lines, asked), refundable, strict=True
        ):
            if quantity == 0:
                shares.append(Decimal(0))
                continue
            missing[line.sku] -= quantity
            if quantity == line.quantity - line.refunded_quantity:
                shares.append(left_money)
            else:
                shares.append(min(money(line.paid * quantity / line.quantity), left_money))
        for sku, short in missing.items():
            if short > 0:
                raise RefundLineUnknown(sku=sku, quantity=short)
        return shares
    total = sum(refundable, Decimal(0))
    if amount is None or amount <= 0 or amount > total:
        raise RefundTooLarge(refundable=total)
    return allocate(money(amount), refundable)


def refunded_fraction(paid: Decimal, refunded: Decimal, full: bool) -> Decimal:
    """How much of an order paid `paid` has been refunded, all refunds together."""
    if full:
        return Decimal(1)
    if paid <= 0:
        return Decimal(0)
    return refunded / paid


def refund_share(whole: int, fraction: Decimal) -> int:
    """The whole points (or growth) that `fraction` of `whole` comes to, rounded down."""
    return int((whole * fraction).to_integral_value(rounding=ROUND_FLOOR))

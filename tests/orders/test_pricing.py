"""The pricing engine as a table: each step, each coupon kind, stacking, rounding; and
properties that hold for any order."""

from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.utils import translation
from hypothesis import given
from hypothesis import strategies as st

from apps.coupons.rules import CouponTerms
from apps.orders.errors import RefundLineUnknown, RefundTooLarge
from apps.orders.pricing import (
    CouponOffer,
    PointsOffer,
    PriceLine,
    allocate,
    price,
    refund_share,
    refund_shares,
    refund_units,
    refunded_fraction,
)

D = Decimal


def line(sku, unit, quantity=1, member_price=None, category="c"):
    return PriceLine(
        sku, sku, category, quantity, D(unit), None if member_price is None else D(member_price)
    )


def coupon(code, kind="threshold", stackable=False, **terms):
    return CouponOffer(code=code, label=code, stackable=stackable, terms=CouponTerms(kind, **terms))


MANJIAN = coupon("满100减20", threshold=D(100), amount=D(20))
CASH10 = coupon("无门槛10", kind="cash", amount=D(10), stackable=True)
CASH5 = coupon("无门槛5", kind="cash", amount=D(5), stackable=True)
POINTS = PointsOffer(wanted=10_000, available=10_000, rate=100, cap=D("0.5"))


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


def test_awkward_prices_round_to_the_fen_and_add_up():
    quote = price([line("A", "33.33", 3)], is_member=True, tier_percent=D(5))

    assert (quote.subtotal, quote.member_discount, quote.payable) == (
        D("99.99"),
        D("5.00"),
        D("94.99"),
    )


def test_a_member_price_beats_the_tier_discount_on_its_line_only():
    quote = price(
        [line("A", "100", 2, member_price="80"), line("B", "50")],
        is_member=True,
        tier_percent=D(10),
    )

    assert [row.member_discount for row in quote.lines] == [D("40.00"), D("5.00")]
    assert quote.applied == [{"type": "member", "label": "Member price", "amount": D("45.00")}]


def test_a_non_member_pays_the_list_price_and_gets_nothing_off():
    quote = price([line("A", "100", member_price="80")], is_member=False, tier_percent=D(10))

    assert quote.payable == D(100) and quote.applied == []


def test_a_threshold_coupon_is_shared_over_the_lines_in_proportion():
    quote = price(
        [line("A", "70"), line("B", "30"), line("C", "0.01")], is_member=False, coupons=[MANJIAN]
    )

    assert [row.coupon_discount for row in quote.lines] == [D("14.00"), D("6.00"), D("0.00")]
    assert quote.coupons_used == {"满100减20": D(20)} and quote.payable == D("80.01")


def test_below_the_threshold_the_coupon_is_turned_down_in_words():
    quote = price([line("A", "99.99")], is_member=False, coupons=[MANJIAN])

    assert quote.coupon_discount == 0
    assert quote.rejected == [
        {
            "coupon_code": "满100减20",
            "code": "not_eligible",
            "message": "spend 100.00 yuan on covered items to use it (now 99.99)",
        }
    ]


def test_the_threshold_counts_after_the_member_discount():
    quote = price([line("A", "105")], is_member=True, tier_percent=D(10), coupons=[MANJIAN])

    assert quote.rejected and quote.payable == D("94.50")


def test_one_coupon_per_order_unless_all_stack():
    one = price([line("A", "200")], is_member=False, coupons=[MANJIAN, CASH10])
    both = price([line("A", "200")], is_member=False, coupons=[CASH10, CASH5])

    assert one.coupons_used == {"满100减20": D(20)}
    assert one.rejected[0]["message"] == "only one coupon can be used on this order"
    assert both.coupon_discount == D(15) and not both.rejected


def test_percent_coupon_respects_its_cap_and_excluded_lines():
    capped = coupon(
        "八折",
        kind="percent",
        percent_off=D(20),
        max_discount=D(30),
        exclude_categories=frozenset({"gift"}),
    )

    quote = price(
        [line("A", "200"), line("G", "100", category="gift")], is_member=False, coupons=[capped]
    )

    assert [row.coupon_discount for row in quote.lines] == [D("30.00"), D("0.00")]


def test_a_gift_coupon_frees_one_of_the_gift_product_on_its_own_line():
    gift = coupon("兑换券", kind="gift", gift_sku="G")

    quote = price([line("A", "50"), line("G", "12.50", 2)], is_member=False, coupons=[gift])

    assert [row.coupon_discount for row in quote.lines] == [D("0.00"), D("12.50")]


def test_a_coupon_turned_down_before_pricing_is_listed_with_its_code():
    used = CouponOffer(
        code="X", label="X", stackable=False, refused="already used", refused_code="already_used"
    )

    quote = price([line("A", "10")], is_member=True, coupons=[used])

    assert quote.rejected == [
        {"coupon_code": "X", "code": "already_used", "message": "already used"}
    ]


def test_points_pay_at_most_the_cap_after_coupons_in_whole_fen():
    quote = price(
        [line("A", "150"), line("B", "50")], is_member=False, coupons=[MANJIAN], points=POINTS
    )

    assert quote.points_used == 9000 and quote.points_deduction == D("90.00")
    assert [row.points_deduction for row in quote.lines] == [D("67.50"), D("22.50")]
    assert quote.payable == D("90.00")
    assert quote.applied[-1] == {"type": "points", "label": "9000 points", "amount": D("90.00")}


def test_points_use_only_what_the_member_has():
    few = PointsOffer(wanted=10_000, available=250, rate=100, cap=D("0.5"))

    quote = price([line("A", "100")], is_member=False, points=few)

    assert (quote.points_used, quote.points_deduction, quote.payable) == (
        250,
        D("2.50"),
        D("97.50"),
    )


@pytest.mark.parametrize(
    ("total", "weights", "parts"),
    [
        ("10.00", ["33.33", "33.33", "33.34"], ["3.33", "3.33", "3.34"]),
        ("0.01", ["1", "1", "1"], ["0.01", "0.00", "0.00"]),
        ("5.00", ["0", "10"], ["0.00", "5.00"]),
        ("0", ["1", "2"], ["0", "0"]),
    ],
)
def test_allocate(total, weights, parts):
    assert allocate(D(total), [D(w) for w in weights]) == [D(p) for p in parts]


prices = st.decimals(min_value=D("0.01"), max_value=D("9999.99"), places=2)


@given(
    lines=st.lists(st.tuples(prices, st.integers(1, 5), st.booleans()), min_size=1, max_size=6),
    tier=st.integers(0, 30),
    coupons=st.lists(
        st.sampled_from([MANJIAN, CASH10, CASH5]), max_size=3, unique_by=lambda c: c.code
    ),
    wanted=st.integers(0, 10**6),
)
def test_any_order_adds_up_and_never_goes_below_zero(lines, tier, coupons, wanted):
    order = [
        line(
            f"S{n}",
            unit,
            quantity,
            member_price=(unit * D("0.9")).quantize(D("0.01")) if mp else None,
        )
        for n, (unit, quantity, mp) in enumerate(lines)
    ]
    points = PointsOffer(wanted=wanted, available=wanted, rate=100, cap=D("0.5"))

    quote = price(order, is_member=True, tier_percent=D(tier), coupons=coupons, points=points)

    assert (
        quote.payable
        == quote.subtotal - quote.member_discount - quote.coupon_discount - quote.points_deduction
    )
    assert quote.payable >= 0 and all(row.paid >= 0 for row in quote.lines)
    assert all(
        min(row.member_discount, row.coupon_discount, row.points_deduction) >= 0
        for row in quote.lines
    )
    assert quote.coupon_discount == sum(quote.coupons_used.values(), D(0))
    assert quote.points_deduction * 100 <= quote.points_used <= quote.points_deduction * 100 + 99
    assert quote.points_deduction <= (
        quote.subtotal - quote.member_discount - quote.coupon_discount
    ) * D("0.5")


# Refunds: what each line gives back, and the share of points and growth that goes with it.


@dataclass(frozen=True)
class SoldLine:
    sku: str
    quantity: int
    paid: Decimal
    refunded_quantity: int
    refunded_amount: Decimal


def sold(sku, quantity, paid, refunded_quantity=0, refunded_amount="0"):
    return SoldLine(sku, quantity, D(paid), refunded_quantity, D(refunded_amount))


TWO_LINES = [sold("TEE", 3, D("99.99")), sold("SHOE", 1, D("349.00"))]


@pytest.mark.parametrize(
    "lines, asked, units",
    [
        (TWO_LINES, {"TEE": 1}, [1, 0]),
        (TWO_LINES, {"TEE": 5, "SHOE": 1}, [3, 1]),  # never more than a line holds
        (TWO_LINES, {}, [0, 0]),
        ([sold("TEE", 2, D(20), 1, D(10)), sold("TEE", 2, D(20))], {"TEE": 2}, [1, 1]),
    ],
)
def test_refund_units_go_to_a_skus_lines_in_order(lines, asked, units):
    assert refund_units(lines, asked) == units


@pytest.mark.parametrize(
    "lines, asked, amount, shares",
    [
        (TWO_LINES, {"TEE": 1}, None, [D("33.33"), D(0)]),
        (TWO_LINES, {"TEE": 3}, None, [D("99.99"), D(0)]),  # the last units take what is left
        ([sold("TEE", 3, D("99.99"), 2, D("66.66"))], {"TEE": 1}, None, [D("33.33")]),
        ([sold("TEE", 3, D(100), 1, D("33.33"))], {"TEE": 1}, None, [D("33.33")]),
        ([sold("TEE", 3, D(100), 2, D("66.66"))], {"TEE": 1}, None, [D("33.34")]),
        (TWO_LINES, {}, D("100"), [D("22.27"), D("77.73")]),  # shared in proportion
        (TWO_LINES, {}, D("448.99"), [D("99.99"), D("349.00")]),
        ([sold("A", 1, D(10), 0, D(4)), sold("B", 1, D(10))], {}, D(16), [D(6), D(10)]),
    ],
)
def test_refund_shares_by_units_or_by_amount(lines, asked, amount, shares):
    assert refund_shares(lines, asked, amount) == shares
    assert sum(shares) <= sum(line.paid - line.refunded_amount for line in lines)


@pytest.mark.parametrize(
    "asked, amount, error",
    [
        ({"TEE": 4}, None, RefundLineUnknown),  # one unit more than was bought
        ({"HAT": 1}, None, RefundLineUnknown),
        ({}, D("449.00"), RefundTooLarge),
        ({}, D(0), RefundTooLarge),
        ({}, None, RefundTooLarge),
    ],
)
def test_a_refund_of_more_than_is_left_is_refused(asked, amount, error):
    with pytest.raises(error):
        refund_shares(TWO_LINES, asked, amount)


@pytest.mark.parametrize(
    "paid, refunded, full, fraction",
    [
        (D(200), D(50), False, D("0.25")),
        (D(200), D(200), True, D(1)),
        (D(0), D(0), False, D(0)),  # a free order: nothing to share
        (D(0), D(0), True, D(1)),
    ],
)
def test_refunded_fraction(paid, refunded, full, fraction):
    assert refunded_fraction(paid, refunded, full) == fraction


@pytest.mark.parametrize(
    "whole, fraction, share",
    [(403, D("0.25"), 100), (403, D(1), 403), (3, D(1) / 3, 0), (100, D(0), 0), (7, D("0.5"), 3)],
)
def test_refund_share_rounds_down(whole, fraction, share):
    assert refund_share(whole, fraction) == share


@given(
    paid=st.lists(st.integers(min_value=0, max_value=100_000), min_size=1, max_size=6),
    parts=st.lists(st.integers(min_value=1, max_value=100_000), min_size=1, max_size=8),
)
def test_refunds_by_amount_never_exceed_a_line_and_add_up(paid, parts):
    lines = [sold(f"S{n}", 1, D(fen) / 100) for n, fen in enumerate(paid)]
    for fen in parts:
        left = sum(line.paid - line.refunded_amount for line in lines)
        amount = D(fen) / 100
        if amount > left:
            break
        shares = refund_shares(lines, {}, amount)
        assert sum(shares) == amount
        lines = [
            sold(line.sku, 1, line.paid, 0, line.refunded_amount + share)
            for line, share in zip(lines, shares, strict=True)
        ]
        assert all(D(0) <= line.refunded_amount <= line.paid for line in lines)

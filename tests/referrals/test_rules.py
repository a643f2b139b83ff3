"""The commission arithmetic: table cases and generated ones."""

from decimal import Decimal as D

import pytest
from hypothesis import given
from hypothesis import strategies as st

from apps.referrals.rules import (
    CommissionLineInput,
    Rate,
    RefundedLine,
    RuleBook,
    commissions_split,
    floor_fen,
    line_exact,
    reversal_due,
    share_down,
)

TEN_FIVE = Rate(mode="rate", level1=D(10), level2=D(5))
BOOK = RuleBook(
    default=TEN_FIVE,
    categories={"上衣": Rate("rate", D(20), D(0)), "上衣/T恤": Rate("rate", D(30), D(10))},
    products={"GIFT": Rate("fixed", D("2.50"), D("1"))},
)


@pytest.mark.parametrize(
    ("sku", "category", "expected"),
    [
        ("GIFT", "上衣/T恤", BOOK.products["GIFT"]),  # a product's rule beats its category's
        ("TEE", "上衣/T恤", BOOK.categories["上衣/T恤"]),  # the nearest category
        ("TEE", "上衣/T恤/短袖", BOOK.categories["上衣/T恤"]),
        ("SHIRT", "上衣/衬衫", BOOK.categories["上衣"]),  # a parent covers its children
        ("SHOE", "鞋履", TEN_FIVE),  # else the default
        ("X", "", TEN_FIVE),
        ("X", "上衣衫", TEN_FIVE),  # a path, not a prefix of the name
    ],
)
def test_a_line_falls_under_its_most_specific_rule(sku, category, expected):
    assert BOOK.rate_for(sku, category) == expected


def test_no_rule_earns_nothing():
    assert RuleBook().rate_for("TEE", "上衣") is None
    line = CommissionLineInput("TEE", "上衣", 1, D("100"))
    assert commissions_split([line], RuleBook(), levels=2) == ([D(0)], [D(0)])


@pytest.mark.parametrize(
    ("rate", "quantity", "base", "expected"),
    [
        (Rate("rate", D(10), D(5)), 1, D("99.99"), (D("9.999"), D("4.9995"))),
        (Rate("fixed", D("2.50"), D(1)), 3, D("100"), (D("7.50"), D("3"))),
        (Rate("fixed", D(30), D(30)), 2, D("80"), (D("60"), D("20"))),  # never past the base
        (Rate("fixed", D(30), D(0)), 2, D("50"), (D("50"), D("0"))),
        (Rate("rate", D(60), D(40)), 1, D("10"), (D("6"), D("4"))),  # 100% together
        (Rate("rate", D(10), D(5)), 1, D("0"), (D(0), D(0))),  # paid nothing: earns nothing
    ],
)
def test_a_lines_exact_commissions(rate, quantity, base, expected):
    assert line_exact(rate, CommissionLineInput("S", "", quantity, base)) == expected


def test_an_order_rounds_down_once_and_shares_the_fen_over_its_lines():
    # 3 × 3.33 at 10%: 0.333 each, 0.999 in all → 0.99, shared 0.33 each
    lines = [CommissionLineInput(f"S{i}", "", 1, D("3.33")) for i in range(3)]
    first, second = commissions_split(lines, RuleBook(default=TEN_FIVE), levels=2)
    assert first == [D("0.33")] * 3
    # 0.1665 each, 0.4995 → 0.49: 0.16 each and the fen left to the first
    assert second == [D("0.17"), D("0.16"), D("0.16")]


def test_one_level_earns_no_second():
    lines = [CommissionLineInput("S", "", 1, D("100"))]
    assert commissions_split(lines, RuleBook(default=TEN_FIVE), levels=1) == (
        [D("10.00")],
        [D(0)],
    )


@given(st.lists(st.decimals(min_value=0, max_value=100000, places=4, allow_nan=False), max_size=12))
def test_shares_add_up_to_the_sum_rounded_down_and_stay_within_a_fen(exact):
    shares = share_down(exact)
    assert sum(shares, D(0)) == floor_fen(sum(exact, D(0)))
    for share, value in zip(shares, exact, strict=True):
        assert floor_fen(value) <= share <= floor_fen(value) + D("0.01")
        assert share == share.quantize(D("0.01"))


lines_strategy = st.lists(
    st.tuples(
        st.sampled_from(["TEE", "GIFT", "SHOE", "X"]),
        st.sampled_from(["", "上衣", "上衣/T恤", "鞋履"]),
        st.integers(min_value=1, max_value=9),
        st.decimals(min_value=0, max_value=9999, places=2, allow_nan=False),
    ),
    min_size=1,
    max_size=8,
)


@given(lines_strategy, st.sampled_from([1, 2]))
def test_an_orders_commissions_never_exceed_what_was_paid(raw, levels):
    lines = [CommissionLineInput(*line) for line in raw]
    first, second = commissions_split(lines, BOOK, levels=levels)
    total_base = sum((line.base for line in lines), D(0))
    assert sum(first, D(0)) + sum(second, D(0)) <= total_base
    assert all(part >= 0 for part in first + second)
    if levels == 1:
        assert set(second) == {D(0)}


@pytest.mark.parametrize(
    ("line", "full", "expected"),
    [
        (RefundedLine(D("10.00"), D("100"), 2, D("50"), 1), False, D("5.00")),
        (RefundedLine(D("10.00"), D("100"), 2, D("33.33"), 0), False, D("3.33")),  # rounded down
        (RefundedLine(D("10.00"), D("100"), 2, D("100"), 0), False, D("10.00")),  # all the money
        (RefundedLine(D("10.00"), D("100"), 3, D("99.99"), 3), False, D("10.00")),  # all units
        (RefundedLine(D("10.00"), D("100"), 2, D("0"), 0), True, D("10.00")),  # a full refund
        (RefundedLine(D("4.00"), D("0"), 4, D("0"), 1), False, D("1.00")),  # paid by points
        (RefundedLine(D("10.00"), D("100"), 2, D("0"), 0), False, D("0")),
    ],
)
def test_what_refunds_take_back(line, full, expected):
    assert reversal_due([line], full=full) == expected


@given(
    st.decimals(min_value=D("0.01"), max_value=1000, places=2),
    st.decimals(min_value=D("0.01"), max_value=5000, places=2),
    st.lists(st.integers(min_value=1, max_value=100), min_size=1, max_size=6),
)
def test_successive_refunds_take_back_at_most_the_commission_and_all_of_it_at_the_end(
    commission, paid, cuts
):
    """Refunds of growing parts of a line: what is due only grows, never past the commission,
    and the last (the whole line) takes it all."""
    total = sum(cuts)
    refunded, before = D(0), D(0)
    for index, cut in enumerate(cuts):
        refunded = paid if index == len(cuts) - 1 else min(paid, refunded + paid * cut / total)
        refunded = refunded.quantize(D("0.01"))
        due = reversal_due([RefundedLine(commission, paid, 1, refunded, 0)], full=False)
        assert before <= due <= commission
        before = due
    assert before == commission

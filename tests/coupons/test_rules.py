"""How much a coupon takes off, and when it is valid: table tests, no database."""

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.utils import translation
from hypothesis import given
from hypothesis import strategies as st

from apps.coupons.rules import CouponLine, CouponTerms, coupon_discount, validity

SHANGHAI = ZoneInfo("Asia/Shanghai")


def line(sku, category, amount, quantity=1):
    amount = Decimal(amount)
    return CouponLine(
        sku=sku, category=category, quantity=quantity, unit_price=amount / quantity, amount=amount
    )


SHOES = line("SKU1", "shoes", "120.00")
SOCKS = line("SKU2", "socks", "30.00", quantity=3)
GIFT_CARD = line("GC", "giftcard", "500.00")


@pytest.mark.parametrize(
    ("terms", "lines", "discount", "reason"),
    [
        (CouponTerms("threshold", Decimal(100), Decimal(20)), [SHOES], "20", ""),
        (CouponTerms("threshold", Decimal(200), Decimal(20)), [SHOES, SOCKS], "0", "200.00"),
        (
            CouponTerms(
                "threshold", Decimal(100), Decimal(20), exclude_categories=frozenset({"giftcard"})
            ),
            [SOCKS, GIFT_CARD],
            "0",
            "100.00",
        ),
        (CouponTerms("cash", amount=Decimal(10)), [SOCKS], "10", ""),
        (CouponTerms("cash", amount=Decimal(50)), [SOCKS], "30.00", ""),  # never more than covered
        (CouponTerms("percent", percent_off=Decimal(15)), [SHOES], "18.00", ""),
        (
            CouponTerms("percent", percent_off=Decimal(50), max_discount=Decimal(40)),
            [SHOES],
            "40",
            "",
        ),
        (
            CouponTerms("percent", percent_off=Decimal(10), include_skus=frozenset({"SKU2"})),
            [SHOES, SOCKS],
            "3.00",
            "",
        ),
        (CouponTerms("gift", gift_sku="SKU2"), [SHOES, SOCKS], "10.00", ""),
        (CouponTerms("gift", gift_sku="SKU9"), [SHOES], "0", "free product"),
        (
            CouponTerms("cash", amount=Decimal(5), include_categories=frozenset({"bags"})),
            [SHOES],
            "0",
            "covered",
        ),
        (CouponTerms("shipping"), [SHOES], "0", ""),
    ],
)
def test_coupon_discount_table(terms, lines, discount, reason):
    with translation.override("en"):
        outcome = coupon_discount(terms, lines)

    assert outcome.discount == Decimal(discount)
    assert (reason in outcome.reason) if reason else outcome.applies


@given(
    amounts=st.lists(st.integers(1, 10**7), min_size=1, max_size=6),
    percent=st.integers(1, 99),
    cap=st.one_of(st.none(), st.integers(1, 10**6)),
)
def test_a_discount_is_never_negative_nor_more_than_the_lines(amounts, percent, cap):
    lines = [line(f"S{n}", "c", Decimal(fen) / 100) for n, fen in enumerate(amounts)]
    terms = CouponTerms(
        "percent",
        percent_off=Decimal(percent),
        max_discount=None if cap is None else Decimal(cap) / 100,
    )

    outcome = coupon_discount(terms, lines)

    assert Decimal(0) <= outcome.discount <= sum(item.amount for item in lines)
    assert outcome.discount == outcome.discount.quantize(Decimal("0.01"))


def test_validity_counts_the_day_of_issue_and_ends_at_its_last_second():
    issued = datetime(2026, 11, 25, 21, 30, tzinfo=SHANGHAI)

    start, end = validity(issued_at=issued, valid_from=None, valid_until=None, valid_days=3)

    assert start == issued
    assert end.astimezone(SHANGHAI).replace(microsecond=0) == datetime(
        2026, 11, 27, 23, 59, 59, tzinfo=SHANGHAI
    )


def test_a_fixed_window_starts_no_earlier_than_issue():
    issued = datetime(2026, 11, 25, 12, tzinfo=SHANGHAI)
    window = (datetime(2026, 12, 1, tzinfo=SHANGHAI), datetime(2026, 12, 31, tzinfo=SHANGHAI))

    assert (
        validity(issued_at=issued, valid_from=window[0], valid_until=window[1], valid_days=None)
        == window
    )
    later = datetime(2026, 12, 5, tzinfo=SHANGHAI)
    assert validity(
        issued_at=later, valid_from=window[0], valid_until=window[1], valid_days=None
    ) == (later, window[1])

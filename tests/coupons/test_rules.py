"""The pure coupon rules: who may have a template, whether claims are open, whether a coupon
can be used, how much it takes off, when it is valid. Table tests, no database."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from django.utils import translation
from hypothesis import given
from hypothesis import strategies as st

from apps.coupons.rules import (
    EXPIRED,
    HELD,
    USED,
    VOID,
    CouponLine,
    CouponTerms,
    Eligibility,
    claim_window_problem,
    coupon_discount,
    coupon_state_problem,
    eligibility_problem,
    usability_problem,
    validity,
)
from apps.tiers.models import Tier

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


# Who may have a template, whether its claims are open, whether a coupon can be used: plain
# data in, the reason out (apps.coupons.rules).

NOW = datetime(2026, 12, 3, 12, tzinfo=SHANGHAI)
GOLD, SILVER = Tier(pk=2, code="gold", name="Gold"), Tier(pk=1, code="silver", name="Silver")


@dataclass
class Someone:
    tier: Tier | None = SILVER
    home: tuple[int, int | None] | None = None
    joined_at: datetime = NOW - timedelta(days=400)
    returning: bool = False


class Untouchable:
    """A member whose tier and home store must not be read (they would be queries)."""

    joined_at, returning = NOW, False

    @property
    def tier(self):
        raise AssertionError("the tier was read")

    @property
    def home(self):
        raise AssertionError("the home store was read")


def open_to(tiers=(), stores=(), distributors=(), new_members_only=False) -> Eligibility:
    return Eligibility(tuple(tiers), frozenset(stores), frozenset(distributors), new_members_only)


@pytest.mark.parametrize(
    ("eligibility", "someone", "reason"),
    [
        (open_to(), Someone(), ""),
        (open_to(tiers=[GOLD]), Someone(tier=GOLD), ""),
        (open_to(tiers=[GOLD, SILVER]), Someone(tier=SILVER), ""),
        (open_to(tiers=[GOLD]), Someone(tier=SILVER), "for Gold members"),
        (open_to(tiers=[GOLD]), Someone(tier=None), "for Gold members"),
        (open_to(new_members_only=True), Someone(joined_at=NOW - timedelta(days=1)), ""),
        (open_to(new_members_only=True), Someone(), "new members"),
        (
            open_to(new_members_only=True),
            Someone(joined_at=NOW - timedelta(days=1), returning=True),
            "new members",
        ),
        (open_to(stores=[5]), Someone(home=(5, None)), ""),
        (open_to(stores=[5]), Someone(home=(6, 9)), "certain stores"),
        (open_to(stores=[5]), Someone(home=None), "certain stores"),
        (open_to(distributors=[9]), Someone(home=(6, 9)), ""),
        (open_to(distributors=[9]), Someone(home=(6, None)), "certain stores"),
        (open_to(stores=[5], distributors=[9]), Someone(home=(5, 1)), ""),
    ],
)
def test_eligibility_table(eligibility, someone, reason, settings):
    settings.COUPON_NEW_MEMBER_DAYS = 30
    with translation.override("en"):
        problem = eligibility_problem(eligibility, someone, now=NOW)

    assert (reason in problem) if reason else problem == ""


def test_a_template_for_anyone_reads_neither_tier_nor_home_store():
    assert eligibility_problem(open_to(), Untouchable(), now=NOW) == ""


def window(active=True, starts=None, ends=None, until=None):
    return SimpleNamespace(
        active=active, claim_starts_at=starts, claim_ends_at=ends, valid_until=until
    )


HOUR = timedelta(hours=1)


@pytest.mark.parametrize(
    ("template", "reason"),
    [
        (window(), ""),
        (window(active=False), "no longer offered"),
        (window(starts=NOW + HOUR), "not opened yet"),
        (window(starts=NOW), ""),
        (window(ends=NOW), "closed"),
        (window(ends=NOW + HOUR, starts=NOW - HOUR), ""),
        (window(until=NOW), "no longer offered"),
        (window(until=NOW + HOUR), ""),
    ],
)
def test_claim_window_table(template, reason):
    with translation.override("en"):
        problem = claim_window_problem(template, now=NOW)

    assert (reason in problem) if reason else problem == ""


@pytest.mark.parametrize(
    ("status", "valid_until", "problem"),
    [
        ("available", NOW + HOUR, ""),
        ("available", NOW, EXPIRED),
        ("expired", NOW + HOUR, EXPIRED),
        ("used", NOW - HOUR, USED),
        ("locked", NOW + HOUR, HELD),
        ("void", NOW + HOUR, VOID),
    ],
)
def test_coupon_state_table(status, valid_until, problem):
    assert coupon_state_problem(status=status, valid_until=valid_until, now=NOW) == problem


def coupon(channels=("store", "miniprogram", "mall"), stores=(), valid_from=NOW - HOUR):
    template = SimpleNamespace(channel_set=frozenset(channels), usable_store_ids=frozenset(stores))
    return SimpleNamespace(template=template, valid_from=valid_from)


@pytest.mark.parametrize(
    ("candidate", "store_id", "channel", "reason"),
    [
        (coupon(), 1, "store", ""),
        (coupon(), None, "miniprogram", ""),
        (coupon(channels=["mall"]), 1, "store", "channel"),
        (coupon(stores=[1, 2]), 2, "store", ""),
        (coupon(stores=[1, 2]), 3, "store", "this store"),
        (coupon(stores=[1]), None, "miniprogram", "this store"),
        (coupon(valid_from=NOW + HOUR), 1, "store", "2026-12-03 13:00"),
        (coupon(valid_from=NOW), 1, "store", ""),
    ],
)
def test_usability_table(candidate, store_id, channel, reason):
    with translation.override("en"):
        problem = usability_problem(candidate, store_id=store_id, channel=channel, now=NOW)

    assert (reason in problem) if reason else problem == ""

"""Pure rules, table-tested without a database."""

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from apps.points.rules import deduction, expiry_date, take_from_lots


@pytest.mark.parametrize(
    ("earned", "policy", "expires"),
    [
        (date(2026, 3, 5), "year_end_next", date(2027, 12, 31)),
        (date(2026, 12, 31), "year_end_next", date(2027, 12, 31)),
        (date(2026, 3, 5), "months:12", date(2027, 3, 5)),
        (date(2026, 1, 31), "months:1", date(2026, 2, 28)),
        (date(2027, 12, 31), "months:2", date(2028, 2, 29)),
        (date(2026, 11, 15), "months:2", date(2027, 1, 15)),
    ],
)
def test_expiry_date(earned, policy, expires):
    assert expiry_date(earned, policy) == expires


def test_unknown_expiry_policy_is_an_error():
    with pytest.raises(ValueError):
        expiry_date(date(2026, 1, 1), "never")


@pytest.mark.parametrize(
    ("wanted", "available", "order", "rate", "cap", "points", "yuan"),
    [
        (5000, 5000, "128.00", 100, "0.5", 5000, "50.00"),  # demo: 100 points = 1 yuan
        (10000, 20000, "128.00", 100, "0.5", 6400, "64.00"),  # capped at half the order
        (10000, 300, "128.00", 100, "0.5", 300, "3.00"),  # only what the member has
        (199, 500, "99.99", 100, "0.5", 199, "1.99"),
        (5000, 5000, "99.99", 100, "0.5", 4999, "49.99"),  # half of 99.99 rounds down to the fen
        (100, 100, "10.00", 150, "1", 99, "0.66"),  # 150 points a yuan: whole fen only
        (0, 5000, "50.00", 100, "0.5", 0, "0.00"),
        (500, 500, "0.00", 100, "0.5", 0, "0.00"),
    ],
)
def test_deduction_table(wanted, available, order, rate, cap, points, yuan):
    assert deduction(
        wanted=wanted, available=available, order_amount=Decimal(order), rate=rate, cap=Decimal(cap)
    ) == (points, Decimal(yuan))


@given(
    wanted=st.integers(0, 10**6),
    available=st.integers(0, 10**6),
    order_fen=st.integers(0, 10**7),
    rate=st.integers(1, 1000),
)
def test_deduction_never_overdraws_overpays_or_wastes_points(wanted, available, order_fen, rate):
    order = Decimal(order_fen) / 100
    points, yuan = deduction(
        wanted=wanted, available=available, order_amount=order, rate=rate, cap=Decimal("0.5")
    )

    assert 0 <= points <= min(wanted, available)
    assert Decimal(0) <= yuan <= order / 2
    assert yuan == yuan.quantize(Decimal("0.01"))
    assert points * 100 >= yuan * 100 * rate  # the points cover what they pay …
    assert (points - 1) * 100 < yuan * 100 * rate or points == 0  # … and not one point more


def test_take_from_lots_in_order():
    assert take_from_lots([(1, 30), (2, 0), (3, 50)], 60) == [(1, 30), (3, 30)]
    with pytest.raises(ValueError):
        take_from_lots([(1, 10)], 11)

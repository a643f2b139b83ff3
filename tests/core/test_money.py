"""One rounding rule, half up, for amounts and percentages."""

from decimal import Decimal

import pytest

from apps.core.money import from_fen, money, percent


@pytest.mark.parametrize(
    ("value", "rounded"),
    [
        ("0.005", "0.01"),
        ("0.0049", "0.00"),
        ("2.675", "2.68"),
        ("-0.005", "-0.01"),
        ("10", "10.00"),
        (Decimal("33.333333"), "33.33"),
    ],
)
def test_money_rounds_to_the_fen_half_up(value, rounded):
    assert str(money(value)) == rounded


@pytest.mark.parametrize(
    ("part", "whole", "places", "shown"),
    [
        (1, 3, 1, "33.3"),
        (2, 3, 1, "66.7"),
        (1, 16, 1, "6.3"),  # 6.25: half up
        (1, 8, 0, "13"),  # 12.5: half up
        (3, 8, 0, "38"),  # 37.5
        (1, 3, 0, "33"),
        (0, 5, 1, "0.0"),
        (0, 5, 0, "0"),
        (5, 5, 1, "100.0"),
        (5, 5, 0, "100"),
        (Decimal("500.00"), Decimal("600.00"), 1, "83.3"),
        (1, 3, 2, "33.33"),
    ],
)
def test_percent_rounds_half_up_to_its_places(part, whole, places, shown):
    assert str(percent(part, whole, places=places)) == shown


@pytest.mark.parametrize("whole", [0, Decimal("0.00"), None])
def test_a_percentage_of_nothing_is_none(whole):
    assert percent(3, whole) is None


@pytest.mark.parametrize(
    ("fen", "yuan"), [(0, "0.00"), (1, "0.01"), (12345, "123.45"), (-5, "-0.05")]
)
def test_fen_become_yuan(fen, yuan):
    assert str(from_fen(fen)) == yuan

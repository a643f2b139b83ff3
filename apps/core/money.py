"""Money is Decimal yuan with two places (DESIGN.md, invariant 6); one rounding rule."""

from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")


def money(value) -> Decimal:
    """Round to the fen, half up — the one rounding rule for amounts shown or stored."""
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def from_fen(amount: int) -> Decimal:
    return (Decimal(amount) / 100).quantize(CENT)

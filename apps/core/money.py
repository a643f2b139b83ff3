"""Money is Decimal yuan with two places (DESIGN.md, invariant 6); one rounding rule, half up,
for amounts and for the percentages shown beside them."""

from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")


def _half_up(value, exponent: Decimal) -> Decimal:
    return Decimal(value).quantize(exponent, rounding=ROUND_HALF_UP)


def money(value) -> Decimal:
    """Round to the fen, half up — the one rounding rule for amounts shown or stored."""
    return _half_up(value, CENT)


def percent(part, whole, *, places: int = 1) -> Decimal | None:
    """`part` as a percentage of `whole`, rounded half up to `places` decimals; None when
    `whole` is 0 (a share of nothing)."""
    if not whole:
        return None
    return _half_up(Decimal(part) * 100 / Decimal(whole), Decimal(1).scaleb(-places))


def from_fen(amount: int) -> Decimal:
    return money(Decimal(amount) / 100)

"""Commission arithmetic, as pure functions (no database): which rule a line falls under,
what each level earns on an order, and what a refund takes back.

A level's commission on an order is the sum of its lines' exact commissions rounded down
to the fen; it is then shared over the lines in whole fen by largest remainder (ties to the
earlier line), so each line's part is its exact commission rounded down or one fen more,
and the parts add up to the order's commission exactly."""

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal

from apps.core.categories import SEPARATOR

FEN = Decimal("0.01")
RATE, FIXED = "rate", "fixed"


@dataclass(frozen=True)
class Rate:
    """A rule's terms: `mode` rate (level1 and level2 in percent) or fixed (yuan per unit)."""

    mode: str
    level1: Decimal
    level2: Decimal = Decimal(0)


@dataclass(frozen=True)
class RuleBook:
    """The active rules: the default, by category path and by SKU."""

    default: Rate | None = None
    categories: dict[str, Rate] | None = None
    products: dict[str, Rate] | None = None

    def rate_for(self, sku: str, category: str) -> Rate | None:
        """A line's rule: its product's, else its category's nearest (a rule for 上衣 covers
        上衣/T恤 unless 上衣/T恤 has its own), else the default."""
        if self.products and sku in self.products:
            return self.products[sku]
        if self.categories and category:
            parts = category.split(SEPARATOR)
            for depth in range(len(parts), 0, -1):
                rate = self.categories.get(SEPARATOR.join(parts[:depth]))
                if rate is not None:
                    return rate
        return self.default


@dataclass(frozen=True)
class CommissionLineInput:
    sku: str
    category: str
    quantity: int
    base: Decimal  # what the line paid that earns commission


def floor_fen(value: Decimal) -> Decimal:
    return (value / FEN).to_integral_value(rounding=ROUND_FLOOR) * FEN


def line_exact(rate: Rate | None, line: CommissionLineInput) -> tuple[Decimal, Decimal]:
    """A line's exact commissions, level 1 and level 2, before rounding: never more than
    the line's base together, level 1 first."""
    if rate is None or line.base <= 0:
        return Decimal(0), Decimal(0)
    if rate.mode == RATE:
        first, second = line.base * rate.level1 / 100, line.base * rate.level2 / 100
    else:
        first, second = rate.level1 * line.quantity, rate.level2 * line.quantity
    first = min(first, line.base)
    return first, min(second, line.base - first)


def share_down(exact: Sequence[Decimal]) -> list[Decimal]:
    """The sum of `exact` rounded down to the fen, shared over its parts in whole fen: each
    part its own value rounded down, and the fen left over one each to the parts with the
    largest remainders."""
    floors = [floor_fen(value) for value in exact]
    left = int((floor_fen(sum(exact, Decimal(0))) - sum(floors, Decimal(0))) / FEN)
    by_remainder = sorted(range(len(exact)), key=lambda i: (floors[i] - exact[i], i))
    for i in by_remainder[:left]:
        floors[i] += FEN
    return floors


def commissions_split(
    lines: Sequence[CommissionLineInput], book: RuleBook, *, levels: int
) -> tuple[list[Decimal], list[Decimal]]:
    """What each line earns level 1 and level 2 (all zero with `levels` 1)."""
    exact = [line_exact(book.rate_for(line.sku, line.category), line) for line in lines]
    first = share_down([one for one, _two in exact])
    second = share_down([two for _one, two in exact]) if levels >= 2 else [Decimal(0)] * len(lines)
    return first, second


@dataclass(frozen=True)
class RefundedLine:
    """A commission's part on one line, and how much of the line has been refunded."""

    commission: Decimal
    paid: Decimal
    quantity: int
    refunded_amount: Decimal
    refunded_quantity: int


def reversal_due(lines: Sequence[RefundedLine], *, full: bool) -> Decimal:
    """How much of a commission the refunds so far take back: each line's part in the
    proportion of the line refunded (by money; by units where the line paid nothing),
    rounded down, all of it for a line refunded in full or an order refunded in full."""
    total = Decimal(0)
    for line in lines:
        whole = (
            full
            or line.refunded_quantity >= line.quantity
            or (line.paid > 0 and line.refunded_amount >= line.paid)
        )
        if whole:
            total += line.commission
        elif line.paid > 0:
            total += floor_fen(line.commission * line.refunded_amount / line.paid)
        else:
            total += floor_fen(line.commission * line.refunded_quantity / line.quantity)
    return total

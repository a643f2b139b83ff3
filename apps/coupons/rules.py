"""Pure coupon rules: validity, and how much a coupon takes off an order. No database."""

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.core.money import money


def validity(
    *,
    issued_at: datetime,
    valid_from: datetime | None,
    valid_until: datetime | None,
    valid_days: int | None,
) -> tuple[datetime, datetime]:
    """A coupon's window: N days from issue (the issue day counts, to its last second), or
    the template's fixed window."""
    if valid_days:
        last_day = timezone.localdate(issued_at) + timedelta(days=valid_days - 1)
        end = timezone.make_aware(datetime.combine(last_day, time.max))
        return issued_at, end if valid_until is None else min(end, valid_until)
    return max(issued_at, valid_from) if valid_from else issued_at, valid_until


@dataclass(frozen=True)
class CouponLine:
    sku: str
    category: str
    quantity: int
    unit_price: Decimal
    amount: Decimal  # the line's price before coupons (after member price)


@dataclass(frozen=True)
class CouponTerms:
    kind: str
    threshold: Decimal | None = None
    amount: Decimal | None = None
    percent_off: Decimal | None = None
    max_discount: Decimal | None = None
    gift_sku: str = ""
    include_skus: frozenset[str] = frozenset()
    include_categories: frozenset[str] = frozenset()
    exclude_skus: frozenset[str] = frozenset()
    exclude_categories: frozenset[str] = frozenset()

    def covers(self, line: CouponLine) -> bool:
        if line.sku in self.exclude_skus or line.category in self.exclude_categories:
            return False
        if not self.include_skus and not self.include_categories:
            return True
        return line.sku in self.include_skus or line.category in self.include_categories


@dataclass(frozen=True)
class CouponOutcome:
    discount: Decimal
    reason: str = ""  # why it does not apply, in words a cashier can read out

    @property
    def applies(self) -> bool:
        return not self.reason


def coupon_discount(terms: CouponTerms, lines: list[CouponLine]) -> CouponOutcome:
    """What the coupon takes off these lines, never more than the lines it covers cost."""
    covered = [line for line in lines if terms.covers(line)]
    base = sum((line.amount for line in covered), Decimal(0))
    if terms.kind == "gift":
        gift = next((line for line in covered if line.sku == terms.gift_sku), None)
        if gift is None:
            return CouponOutcome(Decimal(0), str(_("the free product is not in the order")))
        return CouponOutcome(min(gift.unit_price, gift.amount))
    if terms.kind == "shipping":
        return CouponOutcome(Decimal(0))  # the delivery fee is waived where the order ships
    if not covered:
        return CouponOutcome(Decimal(0), str(_("nothing in the order is covered by it")))
    if terms.threshold is not None and base < terms.threshold:
        return CouponOutcome(
            Decimal(0),
            str(_("spend %(threshold)s yuan on covered items to use it (now %(base)s)"))
            % {"threshold": money(terms.threshold), "base": money(base)},
        )
    if terms.kind == "percent":
        off = (base * terms.percent_off / 100).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        if terms.max_discount is not None:
            off = min(off, terms.max_discount)
        return CouponOutcome(min(off, base))
    return CouponOutcome(min(terms.amount, base))

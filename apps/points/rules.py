"""Pure rules of the ledger: no database."""

from datetime import date, timedelta
from decimal import ROUND_FLOOR, Decimal

from apps.core.money import from_fen


def expiry_date(earned_on: date, policy: str) -> date:
    """When points earned on `earned_on` expire.

    "year_end_next": 31 December of the year after earning (the usual rule in China);
    "months:N": the same day N months later (or the month's last day).
    """
    if policy == "year_end_next":
        return date(earned_on.year + 1, 12, 31)
    if policy.startswith("months:"):
        months = int(policy.split(":", 1)[1])
        month_index = earned_on.month - 1 + months
        year, month = earned_on.year + month_index // 12, month_index % 12 + 1
        next_month = date(year + (month == 12), month % 12 + 1, 1)
        return min(
            date(year, month, 1) + timedelta(days=earned_on.day - 1), next_month - timedelta(days=1)
        )
    raise ValueError(f"Unknown points expiry policy: {policy!r}")


def take_from_lots(lots: list[tuple[int, int]], amount: int) -> list[tuple[int, int]]:
    """Spend `amount` from (lot id, remaining) pairs already in spending order.

    Returns (lot id, taken) pairs; the caller made sure the lots hold enough.
    """
    taken = []
    for lot_id, remaining in lots:
        if amount == 0:
            break
        part = min(remaining, amount)
        if part:
            taken.append((lot_id, part))
            amount -= part
    if amount:
        raise ValueError("the lots hold fewer points than asked for")
    return taken


def deduction(
    *, wanted: int, available: int, order_amount: Decimal, rate: int, cap: Decimal
) -> tuple[int, Decimal]:
    """积分抵现: how many points to use and how much they take off the order.

    `rate` points make one yuan; at most `cap` (a fraction) of `order_amount` is paid in
    points. Points pay whole fen only, rounded down, and the points used are exactly those
    that pay them, so a member never loses a point to rounding.
    """
    cap_fen = int((order_amount * cap * 100).to_integral_value(rounding=ROUND_FLOOR))
    paid_fen = min(max(min(wanted, available), 0) * 100 // rate, max(cap_fen, 0))
    points_used = -(-paid_fen * rate // 100)
    return points_used, from_fen(paid_fen)

"""Pure rules of the ledger: no database."""

from datetime import date, timedelta


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

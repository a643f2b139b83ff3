"""Pure rules of the ledger: no database."""

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_FLOOR, Decimal

from apps.core.categories import in_categories
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


@dataclass(frozen=True)
class OrderLine:
    sku: str
    category: str
    paid: Decimal  # what the member paid for the line, after every discount and points deduction


@dataclass(frozen=True)
class RuleFacts:
    """An earning rule as plain data: the ones that apply to this member, store and time.
    A rule without an id is the member's tier multiplier."""

    id: int | None
    name: str
    kind: str  # rate, multiplier
    rate: Decimal | None = None
    multiplier: Decimal | None = None
    skus: frozenset[str] = frozenset()
    categories: frozenset[str] = frozenset()
    weekdays: frozenset[int] = frozenset()
    per_order_cap: int | None = None

    def covers(self, line: OrderLine) -> bool:
        if not self.skus and not self.categories:
            return True
        return line.sku in self.skus or in_categories(line.category, self.categories)


@dataclass
class PointsQuote:
    total: int = 0
    applied: list[tuple[int | None, str, int]] = field(
        default_factory=list
    )  # (rule id, label, points)
    limited: bool = False  # a rule with a usage limit was considered: evaluate again under lock

    @property
    def rule_ids(self) -> list[int]:
        return [rule_id for rule_id, _label, points in self.applied if rule_id and points]


def order_points(
    lines: list[OrderLine], rules: list[RuleFacts], *, weekday: int, order_cap: int | None
) -> PointsQuote:
    """The points an order earns and which rules gave them, rounded down to whole points.

    The highest applicable rate gives each line its base points; each multiplier that covers
    a line then scales what the line has so far (0 takes it out), in the rules' order.
    """
    today = [rule for rule in rules if not rule.weekdays or weekday in rule.weekdays]
    rates = [rule for rule in today if rule.kind == "rate"]
    if not rates or not lines:
        return PointsQuote()
    base_rule = max(rates, key=lambda rule: rule.rate)
    contributions: dict[int | None, Decimal] = {base_rule.id: Decimal(0)}
    for line in lines:
        points = line.paid * base_rule.rate
        contributions[base_rule.id] += points
        for rule in (r for r in today if r.kind == "multiplier" and r.covers(line)):
            extra = points * (rule.multiplier - 1)
            contributions[rule.id] = contributions.get(rule.id, Decimal(0)) + extra
            points += extra
    by_id = {rule.id: rule for rule in today}
    for rule_id, points in contributions.items():
        cap = by_id[rule_id].per_order_cap
        if cap is not None and points > cap:
            contributions[rule_id] = Decimal(cap)
    whole = _round_down_keeping_total(contributions)
    quote = PointsQuote(
        applied=[(rule_id, by_id[rule_id].name, points) for rule_id, points in whole.items()]
    )
    quote.total = max(sum(whole.values()), 0)
    if order_cap is not None and quote.total > order_cap:
        quote.applied.append((None, "单笔积分上限", order_cap - quote.total))
        quote.total = order_cap
    return quote


def _round_down_keeping_total(parts: dict) -> dict:
    """Whole points: the total rounded down once, shared out by largest remainder, so the
    parts shown add up to the total and no point is lost to rounding each part."""
    total = int(sum(parts.values(), Decimal(0)).to_integral_value(rounding=ROUND_FLOOR))
    floors = {
        key: int(value.to_integral_value(rounding=ROUND_FLOOR)) for key, value in parts.items()
    }
    by_remainder = sorted(parts, key=lambda key: parts[key] - floors[key], reverse=True)
    for key in by_remainder[: total - sum(floors.values())]:
        floors[key] += 1
    return floors


def usage_period(period: str, when: date) -> str:
    """The key a rule's use is counted under: limits reset when it changes."""
    year, week, _weekday = when.isocalendar()
    return {
        "day": when.isoformat(),
        "week": f"{year}-W{week:02d}",
        "month": f"{when:%Y-%m}",
        "year": f"{when:%Y}",
    }.get(period, "ever")

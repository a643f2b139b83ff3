"""The online sales settlement (线上销售结算单): HQ's merchant account takes the payments of
every online order (mall, store payment, mini-program), so for a period HQ owes each
franchise store its share of the online sales credited to it, by category.

- Sales are the amounts paid of the lines of online orders paid in the period; refunds are
  the line amounts refunded (by lines or by an amount, which is shared over the lines) in
  the period, whenever the order was paid: a statement once drawn is never changed by a
  later refund, which is taken off the period it happens in. A period whose refunds exceed
  its sales owes a negative amount: HQ takes it off what it pays the store.
- The share of a store and category is the most specific OnlineShare in force on the day
  the order was paid: store and category, then store, then category, then the default;
  with no rule at all it is 0. A refund gives back the share its order was paid under.
- What is owed is rounded half up to the fen once per store, category and share
  (net × percent / 100); a store's total is the sum of those amounts. A category shows
  twice only when a new share started inside the period.
- Direct stores are HQ's own: listed with their online sales and no payout.
- A store's guides' commissions (apps.referrals) of the period are a line of their own:
  what they earned in the period less what refunds in the period took back. HQ pays them
  to a franchise store, which pays its guides; they are part of what it is owed.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db.models import Case, IntegerField, Sum, Value, When
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.core.categories import SEPARATOR
from apps.core.money import money
from apps.core.spreadsheets import csv_document
from apps.orders.models import ONLINE_CHANNELS, OnlineShare, OrderLine, RefundLine
from apps.orders.segments import PAID
from apps.referrals.reports import store_guide_commissions
from apps.stores.models import Store

NO_SHARE = Decimal(0)
ZERO = Decimal("0.00")

Shares = dict[tuple[int | None, str], Decimal]


def share_percent(shares: Shares, store_id: int, category: str):
    """The percentage of the rule that fits best: store and category, then store, then
    category, then the default (store None, category ""); 0 when none fits. `shares` maps
    (store id or None, category name or "") to a percentage, as an era of `share_eras`
    gives them. A line's category is a path ("上衣/T恤"): its own name fits before its parent's."""
    names = [*reversed(category.split(SEPARATOR)), ""] if category else [""]
    for key in [(store, name) for store in (store_id, None) for name in names]:
        if key in shares:
            return shares[key]
    return NO_SHARE


@dataclass
class ShareEras:
    """The share rules by era: era 0 is before the first rule's first day, era i (i ≥ 1)
    runs from the i-th distinct first day to the next. An era's shares are the rules
    started by its first day, each store and category's latest."""

    days: list[date]
    shares: list[Shares]

    def era(self, paid_at: str) -> Case | Value:
        """The era of the instant named by the field path `paid_at`, in SQL."""
        if not self.days:
            return Value(0)
        latest_first = reversed(list(enumerate(self.days, start=1)))
        return Case(
            *[When(**{f"{paid_at}__gte": _day_start(day)}, then=i) for i, day in latest_first],
            default=0,
            output_field=IntegerField(),
        )


def share_eras() -> ShareEras:
    eras = ShareEras(days=[], shares=[{}])
    rules = OnlineShare.objects.order_by("valid_from").values_list(
        "store", "category", "valid_from", "percent"
    )
    for store_id, category, day, percent in rules:
        if not eras.days or eras.days[-1] != day:
            eras.days.append(day)
            eras.shares.append(dict(eras.shares[-1]))
        eras.shares[-1][store_id, category] = percent
    return eras


@dataclass
class CategoryRow:
    category: str
    sales: Decimal
    refunds: Decimal
    percent: Decimal | None  # None: a direct store, paid no share

    @property
    def net(self) -> Decimal:
        return self.sales - self.refunds

    @property
    def owed(self) -> Decimal | None:
        return None if self.percent is None else money(self.net * self.percent / 100)


@dataclass
class StoreRow:
    store: Store
    categories: list[CategoryRow] = field(default_factory=list)
    guide_commissions: Decimal = ZERO

    @property
    def paid_out(self) -> bool:
        return self.store.kind == Store.Kind.FRANCHISE

    @property
    def sales(self) -> Decimal:
        return sum((row.sales for row in self.categories), ZERO)

    @property
    def refunds(self) -> Decimal:
        return sum((row.refunds for row in self.categories), ZERO)

    @property
    def net(self) -> Decimal:
        return self.sales - self.refunds

    @property
    def owed(self) -> Decimal | None:
        if not self.paid_out:
            return None
        return sum((row.owed for row in self.categories), self.guide_commissions)


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def _instants(start: date, end: date) -> tuple[datetime, datetime]:
    """Days start … end (both included) as a range of instants, which an index serves."""
    return _day_start(start), _day_start(end + timedelta(days=1))


def online_statement(*, start: date, end: date) -> list[StoreRow]:
    """Every store with online sales or refunds, or guides' commissions, on days start … end,
    by store code, each with its categories by name. Five queries whatever the number of
    stores and orders."""
    first, after = _instants(start, end)
    commissions = store_guide_commissions(first=first, after=after)
    eras = share_eras()
    sold = (
        OrderLine.objects.filter(
            order__channel__in=ONLINE_CHANNELS,
            order__paid_at__gte=first,
            order__paid_at__lt=after,
            order__status__in=PAID,
        )
        .annotate(era=eras.era("order__paid_at"))
        .values_list("order__store", "category", "era")
        .annotate(Sum("paid"))
        .order_by()
    )
    refunded = (
        RefundLine.objects.filter(
            refund__order__channel__in=ONLINE_CHANNELS,
            refund__created_at__gte=first,
            refund__created_at__lt=after,
        )
        .annotate(era=eras.era("refund__order__paid_at"))
        .values_list("refund__order__store", "line__category", "era")
        .annotate(Sum("amount"))
        .order_by()
    )
    stores = Store.objects.select_related("distributor").in_bulk(
        {store_id for rows in (sold, refunded) for store_id, *_rest in rows} | set(commissions)
    )
    amounts: dict[tuple[int, str, Decimal | None], list[Decimal]] = {}
    for index, rows in enumerate((sold, refunded)):
        for store_id, category, era, amount in rows:
            paid_out = stores[store_id].kind == Store.Kind.FRANCHISE
            percent = share_percent(eras.shares[era], store_id, category) if paid_out else None
            amounts.setdefault((store_id, category, percent), [ZERO, ZERO])[index] += amount
    rows: dict[int, StoreRow] = {}
    for (store_id, category, percent), (sales, refunds) in sorted(
        amounts.items(), key=lambda item: (item[0][0], item[0][1], item[0][2] or NO_SHARE)
    ):
        row = rows.setdefault(store_id, StoreRow(store=stores[store_id]))
        row.categories.append(CategoryRow(category, sales, refunds, percent))
    for store_id, amount in commissions.items():
        if amount:
            rows.setdefault(store_id, StoreRow(store=stores[store_id])).guide_commissions = amount
    return sorted(rows.values(), key=lambda row: row.store.code)


def online_dealer_totals(rows: Iterable[StoreRow]) -> list[tuple[str, Decimal, Decimal]]:
    """(dealer, net online sales, owed) summed over each dealer's franchise stores."""
    totals: dict[str, list[Decimal]] = {}
    for row in rows:
        if row.paid_out and row.store.distributor_id:
            total = totals.setdefault(str(row.store.distributor), [ZERO, ZERO])
            total[0] += row.net
            total[1] += row.owed
    return [(dealer, net, owed) for dealer, (net, owed) in sorted(totals.items())]


def online_statement_csv(rows: Iterable[StoreRow]) -> str:
    """One line per store and category, and one for its guides' commissions; a direct
    store's share and amount owed are empty."""
    return csv_document(
        [
            _("store"),
            _("store name"),
            _("kind"),
            _("distributor"),
            _("category"),
            _("online sales"),
            _("refunds"),
            _("net sales"),
            _("share (%)"),
            _("owed (yuan)"),
        ],
        (line for row in rows for line in _csv_lines(row)),
    )


def _csv_lines(row: StoreRow):
    store = [
        row.store.code,
        row.store.name,
        row.store.get_kind_display(),
        row.store.distributor or "",
    ]
    for line in row.categories:
        yield [
            *store,
            line.category,
            line.sales,
            line.refunds,
            line.net,
            "" if line.percent is None else line.percent,
            "" if line.owed is None else line.owed,
        ]
    if row.guide_commissions:
        owed = row.guide_commissions if row.paid_out else ""
        yield [*store, _("guides' commissions"), "", "", "", "", owed]

"""The online sales settlement (线上销售结算单): HQ's merchant account takes the payments of
every online order (mall, store payment, mini-program), so for a period HQ owes each
franchise store its share of the online sales credited to it, by category.

- Sales are the amounts paid of the lines of online orders paid in the period; refunds are
  the line amounts refunded (by lines or by an amount, which is shared over the lines) in
  the period, whenever the order was paid: a statement once drawn is never changed by a
  later refund, which is taken off the period it happens in. A period whose refunds exceed
  its sales owes a negative amount: HQ takes it off what it pays the store.
- The share of a store and category is the most specific OnlineShare: store and category,
  then store, then category, then the default; with no rule at all it is 0.
- What is owed is rounded half up to the fen once per store and category
  (net × percent / 100); a store's total is the sum of those amounts.
- Direct stores are HQ's own: listed with their online sales and no payout.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.core.categories import SEPARATOR
from apps.core.money import money
from apps.core.spreadsheets import csv_document
from apps.orders.models import ONLINE_CHANNELS, OnlineShare, OrderLine, RefundLine
from apps.orders.segments import PAID
from apps.stores.models import Store

NO_SHARE = Decimal(0)
ZERO = Decimal("0.00")


def share_percent(shares: dict[tuple[int | None, str], Decimal], store_id: int, category: str):
    """The percentage of the rule that fits best: store and category, then store, then
    category, then the default (store None, category ""); 0 when none fits. `shares` maps
    (store id or None, category name or "") to a percentage, as `shares_in_force` gives
    them. A line's category is a path ("上衣/T恤"): its own name fits before its parent's."""
    names = [*reversed(category.split(SEPARATOR)), ""] if category else [""]
    for key in [(store, name) for store in (store_id, None) for name in names]:
        if key in shares:
            return shares[key]
    return NO_SHARE


def shares_in_force() -> dict[tuple[int | None, str], Decimal]:
    return {
        (store_id, category): percent
        for store_id, category, percent in OnlineShare.objects.values_list(
            "store", "category", "percent"
        )
    }


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
        return sum((row.owed for row in self.categories), ZERO)


def _instants(start: date, end: date) -> tuple[datetime, datetime]:
    """Days start … end (both included) as a range of instants, which an index serves."""
    first = timezone.make_aware(datetime.combine(start, time.min))
    return first, timezone.make_aware(datetime.combine(end + timedelta(days=1), time.min))


def online_statement(*, start: date, end: date) -> list[StoreRow]:
    """Every store with online sales or refunds on days start … end, by store code, each
    with its categories by name. Four queries whatever the number of stores and orders."""
    first, after = _instants(start, end)
    sold = (
        OrderLine.objects.filter(
            order__channel__in=ONLINE_CHANNELS,
            order__paid_at__gte=first,
            order__paid_at__lt=after,
            order__status__in=PAID,
        )
        .values_list("order__store", "category")
        .annotate(Sum("paid"))
        .order_by()
    )
    refunded = (
        RefundLine.objects.filter(
            refund__order__channel__in=ONLINE_CHANNELS,
            refund__created_at__gte=first,
            refund__created_at__lt=after,
        )
        .values_list("refund__order__store", "line__category")
        .annotate(Sum("amount"))
        .order_by()
    )
    amounts: dict[tuple[int, str], list[Decimal]] = {}
    for index, rows in enumerate((sold, refunded)):
        for store_id, category, amount in rows:
            amounts.setdefault((store_id, category), [ZERO, ZERO])[index] += amount
    stores = Store.objects.select_related("distributor").in_bulk(
        {store_id for store_id, _category in amounts}
    )
    shares = shares_in_force()
    rows: dict[int, StoreRow] = {}
    for (store_id, category), (sales, refunds) in sorted(amounts.items()):
        row = rows.setdefault(store_id, StoreRow(store=stores[store_id]))
        percent = share_percent(shares, store_id, category) if row.paid_out else None
        row.categories.append(CategoryRow(category, sales, refunds, percent))
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
    """One line per store and category; a direct store's share and amount owed are empty."""
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
        (
            [
                row.store.code,
                row.store.name,
                row.store.get_kind_display(),
                row.store.distributor or "",
                line.category,
                line.sales,
                line.refunds,
                line.net,
                "" if line.percent is None else line.percent,
                "" if line.owed is None else line.owed,
            ]
            for row in rows
            for line in row.categories
        ),
    )

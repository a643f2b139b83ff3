"""Settlement statements for HQ finance: the points members spent at each store in a
period, net of returns, and their yuan value; dealers see the sum of their stores."""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.core.money import money
from apps.core.spreadsheets import csv_document
from apps.points.models import Entry
from apps.stores.models import Store


@dataclass
class StatementRow:
    store: Store
    received: int
    returned: int

    @property
    def net(self) -> int:
        return self.received - self.returned

    @property
    def value(self) -> Decimal:
        return money(Decimal(self.net) / settings.POINTS_DEDUCTION_RATE)


def settlement_statement(*, start: date, end: date) -> list[StatementRow]:
    """Stores with points movements on days start … end (both included), by store code."""
    # A range of instants, not created_at__date: the index on created_at serves it.
    first = timezone.make_aware(datetime.combine(start, time.min))
    after = timezone.make_aware(datetime.combine(end + timedelta(days=1), time.min))
    in_period = Entry.objects.filter(created_at__gte=first, created_at__lt=after)
    received = dict(
        in_period.filter(to_account__kind="store")
        .values_list("to_account__store")
        .annotate(Sum("amount"))
    )
    returned = dict(
        in_period.filter(from_account__kind="store")
        .values_list("from_account__store")
        .annotate(Sum("amount"))
    )
    stores = Store.objects.filter(pk__in=set(received) | set(returned)).select_related(
        "distributor"
    )
    return [
        StatementRow(
            store=store, received=received.get(store.pk, 0), returned=returned.get(store.pk, 0)
        )
        for store in sorted(stores, key=lambda s: s.code)
    ]


def dealer_totals(rows: list[StatementRow]) -> list[tuple[str, int, Decimal]]:
    """(dealer, net points, yuan) for the dealers whose stores appear; direct stores under HQ."""
    totals: dict[str, int] = {}
    for row in rows:
        dealer = str(row.store.distributor) if row.store.distributor_id else _("HQ (direct stores)")
        totals[dealer] = totals.get(dealer, 0) + row.net
    return [
        (dealer, net, money(Decimal(net) / settings.POINTS_DEDUCTION_RATE))
        for dealer, net in sorted(totals.items())
    ]


def settlement_csv(rows: list[StatementRow]) -> str:
    return csv_document(
        [
            _("store"),
            _("store name"),
            _("distributor"),
            _("points received"),
            _("points returned"),
            _("net points"),
            _("value (yuan)"),
        ],
        (
            [
                row.store.code,
                row.store.name,
                row.store.distributor or "",
                row.received,
                row.returned,
                row.net,
                row.value,
            ]
            for row in rows
        ),
    )

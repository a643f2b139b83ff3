"""What distribution brought, for stores, dealers and HQ: each promoter's and guide's members,
orders, sales and commissions, and the same summed per store and dealer. A fixed number of
grouped queries, whatever the number of promoters, stores or orders."""

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.db.models import Count, F, Q, QuerySet, Sum
from django.http import HttpResponse
from django.utils.translation import gettext as _

from apps.core.spreadsheets import csv_document
from apps.members.models import Member, PromoterBinding
from apps.orders.models import Order
from apps.orders.segments import PAID
from apps.referrals.models import Commission, CommissionAccount, CommissionEntry, Promoter
from apps.stores.models import Staff, Store

ZERO = Decimal("0.00")
_SHOWN = (Promoter.Status.APPROVED, Promoter.Status.SUSPENDED)


def _earned() -> Sum:
    return Sum(F("amount") - F("reversed"), default=ZERO)


def store_people(store: Store) -> list[dict]:
    """The store's promoters and guides, each with the members they brought (bound to the
    promoter now; recruited by the guide), the paid orders and sales credited to them (net
    of refunds) and the commissions they earned (net of what refunds took back), most sales
    first. Seven queries."""
    promoters = list(
        Promoter.objects.filter(store=store, status__in=_SHOWN).select_related(
            "member", "guide__user"
        )
    )
    guides = list(
        Staff.objects.filter(store=store, role=Staff.Role.GUIDE, is_active=True).select_related(
            "user"
        )
    )
    member_ids = [p.member_id for p in promoters if p.member_id]
    guide_promoters = {p.guide_id: p for p in promoters if p.guide_id}
    guide_ids = [g.pk for g in guides]
    bound = dict(
        PromoterBinding.objects.filter(promoter_id__in=member_ids, replaced_at__isnull=True)
        .values("promoter")
        .annotate(n=Count("pk"))
        .values_list("promoter", "n")
    )
    recruited = dict(
        Member.objects.filter(guide_id__in=guide_ids)
        .values("guide")
        .annotate(n=Count("pk"))
        .values_list("guide", "n")
    )
    net = Sum(F("paid_amount") - F("refunded_amount"), default=ZERO)
    by_promoter = {
        row["promoter"]: row
        for row in Order.objects.filter(promoter_id__in=member_ids, status__in=PAID)
        .values("promoter")
        .annotate(orders=Count("pk"), sales=net)
    }
    by_guide = {
        row["guide"]: row
        for row in Order.objects.filter(store=store, guide_id__in=guide_ids, status__in=PAID)
        .values("guide")
        .annotate(orders=Count("pk"), sales=net)
    }
    earned = dict(
        Commission.objects.filter(promoter__in=promoters)
        .values("promoter")
        .annotate(total=_earned())
        .values_list("promoter", "total")
    )
    rows = [
        {
            "kind": _("promoter"),
            "name": str(p.member),
            "promoter": p,
            "members": bound.get(p.member_id, 0),
            "orders": by_promoter.get(p.member_id, {}).get("orders", 0),
            "sales": by_promoter.get(p.member_id, {}).get("sales", ZERO),
            "commissions": earned.get(p.pk, ZERO),
        }
        for p in promoters
        if p.member_id
    ]
    for guide in guides:
        promoter = guide_promoters.get(guide.pk)
        rows.append(
            {
                "kind": _("guide"),
                "name": guide.user.display_name,
                "promoter": promoter,
                "members": recruited.get(guide.pk, 0),
                "orders": by_guide.get(guide.pk, {}).get("orders", 0),
                "sales": by_guide.get(guide.pk, {}).get("sales", ZERO),
                "commissions": earned.get(promoter.pk, ZERO) if promoter else ZERO,
            }
        )
    rows.sort(key=lambda row: (-row["sales"], -row["members"], row["name"]))
    return rows


def guide_commissions(guide_ids: list[int], *, start: datetime, end: datetime) -> dict:
    """Commissions the guides (Staff ids) earned on orders paid between `start` and `end`,
    net of what refunds took back: staff id → yuan. One query."""
    return dict(
        Commission.objects.filter(
            promoter__guide_id__in=guide_ids,
            order__paid_at__gte=start,
            order__paid_at__lt=end,
        )
        .values("promoter__guide")
        .annotate(total=_earned())
        .values_list("promoter__guide", "total")
    )


def store_guide_commissions(*, first: datetime, after: datetime) -> dict[int, Decimal]:
    """Per store: its guides' commissions of the period, as a settlement statement counts
    them, so that a statement once drawn never changes: earned in the period less taken
    back by refunds in the period, whenever earned. One query."""
    in_period = Q(created_at__gte=first, created_at__lt=after)
    earn, reverse = CommissionEntry.Kind.EARN, CommissionEntry.Kind.REVERSE
    rows = (
        CommissionEntry.objects.filter(
            in_period, promoter__guide__isnull=False, kind__in=[earn, reverse]
        )
        .values("promoter__store")
        .annotate(
            earned=Sum("amount", filter=Q(kind=earn), default=ZERO),
            reversed=Sum("amount", filter=Q(kind=reverse), default=ZERO),
        )
        .order_by()
    )
    return {row["promoter__store"]: row["earned"] - row["reversed"] for row in rows}


@dataclass
class DistributionRow:
    """What distribution brought through one store's promoters and guides (or a dealer's
    stores'): the commissions as the ledger holds them now."""

    store: Store | None = None
    dealer: str = ""
    promoters: int = 0
    members: int = 0
    orders: int = 0
    sales: Decimal = ZERO
    frozen: Decimal = ZERO
    available: Decimal = ZERO
    paid: Decimal = ZERO
    debt: Decimal = ZERO
    stores: set = field(default_factory=set)

    def add(self, other: "DistributionRow") -> None:
        for name in ("promoters", "members", "orders", "sales", "frozen", "available"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.paid += other.paid
        self.debt += other.debt


def distribution_by_store(stores: QuerySet[Store]) -> list[DistributionRow]:
    """Per store of `stores` with promoters or guides who earned: how many promoters
    (approved, guides included), the members bound to them or recruited by its guides, the
    orders and sales their commissions were earned on (level 1), their commissions frozen,
    available and paid out, and their debt. Five queries."""
    by_store: dict[int, DistributionRow] = {}
    store_ids = stores.values("pk")

    def row(store_id) -> DistributionRow:
        return by_store.setdefault(store_id, DistributionRow())

    for store_id, n in (
        Promoter.objects.filter(store__in=store_ids, status=Promoter.Status.APPROVED)
        .values("store")
        .annotate(n=Count("pk"))
        .values_list("store", "n")
    ):
        row(store_id).promoters = n
    bound = (
        PromoterBinding.objects.filter(
            replaced_at__isnull=True, promoter__promoter__store__in=store_ids
        )
        .values("promoter__promoter__store")
        .annotate(n=Count("pk"))
        .values_list("promoter__promoter__store", "n")
    )
    recruited = (
        Member.objects.filter(guide__promoter__store__in=store_ids)
        .values("guide__promoter__store")
        .annotate(n=Count("pk"))
        .values_list("guide__promoter__store", "n")
    )
    for rows in (bound, recruited):
        for store_id, n in rows:
            row(store_id).members += n
    for store_id, orders, sales in (
        Commission.objects.filter(level=1, promoter__store__in=store_ids)
        .values("promoter__store")
        .annotate(orders=Count("order", distinct=True), sales=Sum("base", default=ZERO))
        .values_list("promoter__store", "orders", "sales")
    ):
        row(store_id).orders, row(store_id).sales = orders, sales
    kinds = CommissionAccount.Kind
    for store_id, kind, balance in (
        CommissionAccount.objects.filter(
            promoter__store__in=store_ids, kind__in=[kinds.FROZEN, kinds.AVAILABLE, kinds.DEBT]
        )
        .values("promoter__store", "kind")
        .annotate(total=Sum("balance"))
        .values_list("promoter__store", "kind", "total")
    ):
        if kind == kinds.DEBT:
            row(store_id).debt = -balance
        else:
            setattr(row(store_id), kind, balance)
    for store_id, paid in (
        CommissionEntry.objects.filter(kind=CommissionEntry.Kind.PAY, promoter__store__in=store_ids)
        .values("promoter__store")
        .annotate(total=Sum("amount"))
        .values_list("promoter__store", "total")
    ):
        row(store_id).paid = paid
    found = Store.objects.select_related("distributor").in_bulk(by_store)
    for store_id, figures in by_store.items():
        figures.store = found[store_id]
        figures.dealer = str(found[store_id].distributor or "")
    return sorted(by_store.values(), key=lambda figures: figures.store.code)


def distribution_by_dealer(rows: list[DistributionRow]) -> list[DistributionRow]:
    """The stores' rows summed per dealer (stores without one left out)."""
    dealers: dict[str, DistributionRow] = {}
    for figures in rows:
        if figures.dealer:
            total = dealers.setdefault(figures.dealer, DistributionRow(dealer=figures.dealer))
            total.add(figures)
            total.stores.add(figures.store.code)
    return [dealers[name] for name in sorted(dealers)]


def distribution_csv(rows: list[DistributionRow]) -> str:
    return csv_document(
        [
            _("store"),
            _("store name"),
            _("distributor"),
            _("promoters"),
            _("members brought"),
            _("orders"),
            _("sales"),
            _("frozen"),
            _("available"),
            _("paid out"),
            _("debt"),
        ],
        (
            [
                figures.store.code,
                figures.store.name,
                figures.dealer,
                figures.promoters,
                figures.members,
                figures.orders,
                figures.sales,
                figures.frozen,
                figures.available,
                figures.paid,
                figures.debt,
            ]
            for figures in rows
        ),
    )


def csv_response(document: str, filename: str) -> HttpResponse:
    response = HttpResponse(document, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}.csv"'
    return response

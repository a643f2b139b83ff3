from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db.models import Case, Count, F, Prefetch, Q, QuerySet, Sum, When
from django.utils import timezone

from apps.mall.models import Sku, TierPrice
from apps.mall.selectors import ForSale
from apps.members.models import Member
from apps.orders.checkout import tier_percent
from apps.orders.errors import (
    OrderNotFound,
    PickupNotFound,
    ProductUnavailable,
    RefundRequestNotFound,
)
from apps.orders.models import (
    ONLINE_CHANNELS,
    TILL_CHANNELS,
    Fulfilment,
    Order,
    OrderLine,
    RefundRequest,
)
from apps.orders.pricing import LineInput, member_unit_price
from apps.orders.segments import PAID
from apps.stores.models import Store
from apps.tiers.models import Tier
from apps.tiers.selectors import member_tier


def store_order(store: Store, external_id: str) -> Order:
    """One of this store's orders by the POS's own id; another store's is not found."""
    order = Order.objects.filter(store=store, external_id=external_id).first()
    if order is None:
        raise OrderNotFound()
    return order


def member_orders(member: Member) -> QuerySet[Order]:
    return (
        Order.objects.filter(member=member)
        .select_related("store")
        .annotate(items=Sum("lines__quantity"))
        .order_by("-created_at", "-pk")
    )


def member_order(member: Member, order_no: str, *, detail: bool = True) -> Order:
    """One of the member's orders; another's is not found. With `detail`, with what its
    answer shows (store, fulfilment, lines, refund requests); without, the row and its
    store, for a call that only acts on it (paying, cancelling)."""
    orders = Order.objects.filter(member=member, order_no=order_no)
    if detail:
        orders = orders.select_related("store", "fulfilment").prefetch_related(
            "lines", "refund_requests"
        )
    else:
        orders = orders.select_related("store")
    order = orders.first()
    if order is None:
        raise OrderNotFound()
    return order


def member_refund_request(member: Member, order_no: str, request_id: int) -> RefundRequest:
    request = (
        RefundRequest.objects.filter(order__member=member, order__order_no=order_no, pk=request_id)
        .select_related("order")
        .first()
    )
    if request is None:
        raise RefundRequestNotFound()
    return request


def store_refund_requests(store: Store) -> QuerySet[RefundRequest]:
    """A store's refund requests, waiting ones first, with what the list shows."""
    return (
        RefundRequest.objects.filter(order__store=store)
        .select_related("order__member", "decided_by", "refund")
        .annotate(waiting=Case(When(status__in=RefundRequest.OPEN, then=0), default=1))
        .order_by("waiting", "-created_at", "-pk")
    )


def catalogue_lines(items: list[tuple[str, int]], products: dict[str, ForSale]) -> list[LineInput]:
    """A member's basket priced from the catalogue (`products_by_sku`): members never send
    prices."""
    now = timezone.now()
    lines = []
    for sku, quantity in items:
        product = products.get(sku)
        if product is None or not product.on_sale(now):
            raise ProductUnavailable(sku=sku)
        lines.append(
            LineInput(sku=sku, name=product.name, quantity=quantity, unit_price=product.price)
        )
    return lines


CHANNEL_GROUPS = {"till": TILL_CHANNELS, "online": ONLINE_CHANNELS}


def store_sales_by_channel(store: Store, *, since: dict[str, datetime]) -> dict:
    """The store's sales at the till and online since each instant of `since` (a period's
    name → its start): orders paid, their sales less what has been refunded of them, and
    the members who bought. {group: {period: {orders, sales, members}}}, in one query."""
    figures = {}
    for group, channels in CHANNEL_GROUPS.items():
        for period, start in since.items():
            within = Q(channel__in=channels, paid_at__gte=start)
            figures[f"{group}:{period}:orders"] = Count("pk", filter=within)
            figures[f"{group}:{period}:sales"] = Sum(
                F("paid_amount") - F("refunded_amount"), filter=within, default=Decimal(0)
            )
            figures[f"{group}:{period}:members"] = Count("member", filter=within, distinct=True)
    totals = Order.objects.filter(
        store=store, paid_at__gte=min(since.values()), status__in=PAID
    ).aggregate(**figures)
    result: dict = {}
    for key, value in totals.items():
        group, period, figure = key.split(":")
        result.setdefault(group, {}).setdefault(period, {})[figure] = value
    return result


@dataclass(frozen=True)
class Shopper:
    """Whoever browses a mall, and what they pay for one unit of a SKU there: a member
    what the checkout charges them (pricing.member_unit_price), a visitor not signed in
    the price."""

    member: Member | None = None
    tier: Tier | None = None
    tier_percent: Decimal = Decimal(0)

    def skus(self) -> QuerySet[Sku]:
        """SKUs with this shopper's tier prices: the SKUs to prefetch for `my_price`."""
        if self.tier is None:
            return Sku.objects.all()
        return Sku.objects.prefetch_related(
            Prefetch(
                "tier_prices",
                queryset=TierPrice.objects.filter(tier=self.tier),
                to_attr="shopper_tier_prices",
            )
        )

    def my_price(self, sku: Sku) -> Decimal:
        """One unit of a SKU from `skus()`."""
        if self.member is None:
            return sku.price
        tier_price = next(iter(sku.shopper_tier_prices), None) if self.tier else None
        return member_unit_price(
            unit_price=sku.price,
            member_price=tier_price.price if tier_price else sku.member_price,
            tier_percent=self.tier_percent,
        )


def shopper_for(member: Member | None, channel: str, store: Store | None = None) -> Shopper:
    if member is None:
        return Shopper()
    tier = member_tier(member)
    return Shopper(
        member=member, tier=tier, tier_percent=tier_percent(tier, store=store, channel=channel)
    )


def _handed_over_view(orders: QuerySet[Order]) -> QuerySet[Order]:
    """Orders with what the person handing them over reads: member, fulfilment, lines."""
    return orders.select_related("member", "fulfilment").prefetch_related(
        Prefetch("lines", queryset=OrderLine.objects.order_by("line_no"))
    )


def store_pickup_order(order_id: int) -> Order:
    return _handed_over_view(Order.objects.filter(pk=order_id)).get()


def store_pickup(store: Store, pickup_code: str) -> Order:
    """The order to pick up at `store` with this code, to show its lines before handing them
    over; another store's is not found."""
    order = (
        _handed_over_view(Order.objects.filter(store=store))
        .filter(
            fulfilment__kind=Fulfilment.Kind.PICKUP, fulfilment__pickup_code=pickup_code.strip()
        )
        .first()
    )
    if order is None:
        raise PickupNotFound()
    return order


def store_orders_to_hand_over(store: Store) -> QuerySet[Order]:
    """A store's paid online orders whose goods it still has to hand over: pickups at the
    store, and deliveries that ship from it; oldest paid first."""
    return _handed_over_view(
        Order.objects.filter(fulfilment__status=Fulfilment.Status.TO_HAND_OVER).filter(
            Q(fulfilment__kind=Fulfilment.Kind.PICKUP, store=store)
            | Q(fulfilment__kind=Fulfilment.Kind.DELIVERY, fulfilment__ship_from=store)
        )
    ).order_by("paid_at", "pk")

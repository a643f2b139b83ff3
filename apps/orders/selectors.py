from django.db.models import Prefetch, Q, QuerySet, Sum
from django.utils import timezone

from apps.mall.selectors import products_by_sku
from apps.members.models import Member
from apps.orders.errors import OrderNotFound, PickupNotFound, ProductUnavailable
from apps.orders.models import Fulfilment, Order, OrderLine
from apps.orders.pricing import LineInput
from apps.stores.models import Store


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


def member_order(member: Member, order_no: str) -> Order:
    order = (
        Order.objects.filter(member=member, order_no=order_no)
        .select_related("store", "fulfilment")
        .prefetch_related("lines")
        .first()
    )
    if order is None:
        raise OrderNotFound()
    return order


def catalogue_lines(items: list[tuple[str, int]]) -> list[LineInput]:
    """A member's basket priced from the catalogue: members never send prices."""
    products = products_by_sku(sku for sku, _quantity in items)
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

from django.db.models import Case, QuerySet, Sum, When
from django.utils import timezone

from apps.mall.selectors import products_by_sku
from apps.members.models import Member
from apps.orders.errors import OrderNotFound, ProductUnavailable, RefundRequestNotFound
from apps.orders.models import Order, RefundRequest
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
        .select_related("store")
        .prefetch_related("lines", "refund_requests")
        .first()
    )
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

"""Online orders as the mall leaves them at placement (a fulfilment, stock reserved at the
place the goods leave from), paid or not, for the tests of what happens after payment."""

from apps.mall.models import Stock
from apps.mall.stock import stock_reserve
from apps.orders.builder import ItemInput, checkout_build
from apps.orders.checkout import order_place
from apps.orders.models import Fulfilment, Order
from apps.orders.paying import order_pay
from apps.orders.payments import SandboxPaymentBackend
from tests.mall.factories import SkuFactory

ADDRESS = {
    "recipient": "李四",
    "recipient_phone": "13700001111",
    "region": "浙江省/杭州市/西湖区",
    "address": "文三路 1 号",
}


def stocked(sku: str, *, price=99, stores=(), on_hand: int = 10) -> None:
    """A SKU with `on_hand` in HQ's warehouse and at each of `stores`."""
    item = SkuFactory(sku=sku, name=f"商品 {sku}", price=price)
    for store in (None, *stores):
        Stock.objects.create(sku=item, store=store, on_hand=on_hand)


def order_pay_in_sandbox(order: Order) -> Order:
    backend = SandboxPaymentBackend()
    return order_pay(notice=backend.verify(backend.notice(order), {}))


def online_order(
    *,
    store,
    member,
    kind: str = Fulfilment.Kind.PICKUP,
    ship_from=None,
    items=(("TEE", 2),),
    pickup_code: str = "",
    paid: bool = True,
) -> Order:
    """An order from `store`'s mall: picked up there (a pickup code), or delivered from
    `ship_from` (None: HQ's warehouse)."""
    checkout = checkout_build(
        store=store,
        channel="mall",
        member=member,
        items=[ItemInput(sku=sku, quantity=quantity) for sku, quantity in items],
    )
    order = order_place(checkout=checkout)
    if kind == Fulfilment.Kind.PICKUP:
        fields, location = {"pickup_code": pickup_code or f"P{order.pk:07d}"}, store
    else:
        fields, location = {**ADDRESS, "ship_from": ship_from}, ship_from
    Fulfilment.objects.create(order=order, kind=kind, **fields)
    stock_reserve(order_id=order.pk, store=location, items=list(items))
    if paid:
        order_pay_in_sandbox(order)
    return Order.objects.select_related("fulfilment").get(pk=order.pk)

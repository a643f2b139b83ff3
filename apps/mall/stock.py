"""库存: what an order reserves, gives back and hands over, at one location (HQ's warehouse
or a store). Stock rows are locked in key order and written by one statement however many
lines an order has. A caller refuses a SKU that is sold out from a plain read before it
reserves (the checkout's `skus_sellable_at`), so a rush on a sold-out item never queues on
its row."""

from collections import defaultdict

from django.db import transaction
from django.db.models import Case, F, IntegerField, Value, When

from apps.core.audit import audit_record
from apps.mall.errors import OutOfStock, StockBelowReserved
from apps.mall.models import Reservation, Stock
from apps.stores.models import Store


@transaction.atomic(savepoint=False)
def stock_reserve(*, order_id: int, store: Store | None, items: list[tuple[str, int]]) -> None:
    """Reserve `items` ((sku, quantity), a SKU may repeat) for the order at `store`'s stock,
    or HQ's warehouse for None; all of them or, raising OutOfStock, none."""
    wanted = defaultdict(int)
    for sku, quantity in items:
        wanted[sku] += quantity
    stock = {
        sku: (pk, on_hand - reserved)
        for pk, sku, on_hand, reserved in Stock.objects.select_for_update(of=("self",))
        .filter(store=store, sku__sku__in=wanted)
        .order_by("pk")  # so that two orders never wait on each other in a circle
        .values_list("pk", "sku__sku", "on_hand", "reserved")
    }
    _refuse_short(wanted, {sku: left for sku, (_pk, left) in stock.items()})
    by_stock = {stock[sku][0]: quantity for sku, quantity in wanted.items()}
    _move(by_stock, reserved=1)
    Reservation.objects.bulk_create(
        Reservation(order_id=order_id, stock_id=pk, quantity=quantity)
        for pk, quantity in by_stock.items()
    )


@transaction.atomic(savepoint=False)
def stock_release(*, order_id: int, items: list[tuple[str, int]] | None = None) -> None:
    """Give back what the order still holds: all of it, or `items` of it (a refund of goods
    not yet handed over). Releasing what was already released does nothing."""
    _settle(order_id, items, field="released", on_hand=0)


@transaction.atomic(savepoint=False)
def stock_hand_over(*, order_id: int) -> None:
    """The goods leave (picked up or shipped): what the order holds comes off the shelf."""
    _settle(order_id, None, field="handed_over", on_hand=-1)


@transaction.atomic(savepoint=False)
def stock_count(*, stock_id: int, on_hand: int, actor, ip: str | None = None) -> Stock:
    """HQ sets what a location has on hand (a stock count, a delivery), audited. Never below
    what orders hold: the row is locked first, so no reservation slips in between."""
    stock = Stock.objects.select_for_update().select_related("sku").get(pk=stock_id)
    if on_hand < stock.reserved:
        raise StockBelowReserved(sku=stock.sku.sku, reserved=stock.reserved)
    if on_hand != stock.on_hand:
        before, stock.on_hand = stock.on_hand, on_hand
        stock.save(update_fields=["on_hand"])
        audit_record(
            actor=actor,
            action="stock.count",
            target=stock,
            before={"on_hand": before},
            after={"on_hand": on_hand},
            ip=ip,
        )
    return stock


def _settle(order_id: int, items, *, field: str, on_hand: int) -> None:
    reservations = list(
        Reservation.objects.select_for_update()
        .filter(order_id=order_id)
        .select_related("stock__sku")
        .order_by("stock_id")
    )
    wanted = None
    if items is not None:
        wanted = defaultdict(int)
        for sku, quantity in items:
            wanted[sku] += quantity
    moves = {}
    for reservation in reservations:
        held = reservation.held
        if wanted is not None:
            held = min(held, wanted.get(reservation.stock.sku.sku, 0))
        if held:
            moves[reservation.stock_id] = held
            setattr(reservation, field, getattr(reservation, field) + held)
    if not moves:
        return
    _lock(moves)
    _move(moves, reserved=-1, on_hand=on_hand)
    Reservation.objects.bulk_update([r for r in reservations if r.stock_id in moves], [field])


def _move(quantities: dict[int, int], *, reserved: int, on_hand: int = 0) -> None:
    """One UPDATE: each stock row's reserved (and on hand) moved by its quantity × sign."""

    def by_row(sign: int):
        return Case(
            *(When(pk=pk, then=Value(sign * quantity)) for pk, quantity in quantities.items()),
            output_field=IntegerField(),
        )

    changes = {"reserved": F("reserved") + by_row(reserved)}
    if on_hand:
        changes["on_hand"] = F("on_hand") + by_row(on_hand)
    Stock.objects.filter(pk__in=quantities).update(**changes)


def _lock(pks) -> dict[int, int]:
    """Lock the stock rows in key order (so that two orders never wait on each other in a
    circle); what each has left."""
    locked = Stock.objects.select_for_update().filter(pk__in=list(pks)).order_by("pk")
    return {
        pk: on_hand - reserved
        for pk, on_hand, reserved in locked.values_list("pk", "on_hand", "reserved")
    }


def _refuse_short(wanted: dict[str, int], left: dict[str, int]) -> None:
    for sku, quantity in sorted(wanted.items()):
        if left.get(sku, 0) < quantity:
            raise OutOfStock(sku=sku, left=max(left.get(sku, 0), 0))

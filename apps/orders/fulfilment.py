"""How an online order reaches its member (Fulfilment): opened when the order is placed,
then, once it is paid, handed over at the store with the pickup code, or shipped by the
store or HQ's warehouse and received by the member (or on its own after
ORDER_RECEIVE_DAYS). Picked up or received, a paid order is `completed` (one refunded in
part keeps saying so; refunds and refund requests take a completed order as a paid one).
Every writer locks the order, then its fulfilment, then (handing over) the stock: the order
the pay, cancel and refund services lock in too."""

import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.core.audit import audit_record
from apps.core.rows import row_insert
from apps.mall.stock import stock_hand_over, stock_release
from apps.members.models import Member
from apps.orders.errors import (
    FulfilmentNotFound,
    NothingToShip,
    NotShipped,
    OrderCancelled,
    OrderNotPaidYet,
    OrderRefunded,
    PickupAlreadyUsed,
    PickupNotFound,
)
from apps.orders.models import Fulfilment, Order
from apps.orders.personal_data import deliveries_recipient_forget
from apps.stores.models import Store

# Opening (at placement)

PICKUP_CODE_DIGITS = 8


@dataclass(frozen=True)
class Recipient:
    """Who a delivery goes to and where, as the order keeps it (an address book entry may
    change later; the order's copy does not)."""

    name: str
    phone: str
    region: str
    detail: str


def stock_location(store: Store, kind: str) -> Store | None:
    """Where an online order's goods are reserved and leave from: a pickup from its store's
    shelf, a delivery from HQ's warehouse (None) — stores do not ship their own stock."""
    return store if kind == Fulfilment.Kind.PICKUP else None


def fulfilment_open(order: Order, kind: str, address: Recipient | None = None) -> Fulfilment:
    """The fulfilment of an online order being placed (in its transaction): a pickup gets a
    random pickup code of PICKUP_CODE_DIGITS digits, never one another order holds (a clash,
    one in tens of millions, draws again); a delivery keeps a copy of its address."""
    fulfilment = Fulfilment(order=order, kind=kind, ship_from=stock_location(order.store, kind))
    if kind == Fulfilment.Kind.DELIVERY:
        fulfilment.recipient, fulfilment.recipient_phone = address.name, address.phone
        fulfilment.region, fulfilment.address = address.region, address.detail
        row_insert(fulfilment)
        return fulfilment
    for _draw in range(5):
        fulfilment.pickup_code = str(secrets.randbelow(10**PICKUP_CODE_DIGITS)).zfill(
            PICKUP_CODE_DIGITS
        )
        if row_insert(fulfilment, unless_taken="pickup_code"):
            return fulfilment
    raise IntegrityError("No free pickup code in five draws: widen PICKUP_CODE_DIGITS.")


# After payment


def fulfilment_cancel(*, order_id: int) -> None:
    """In the transaction that cancels an unpaid order: its fulfilment is cancelled and the
    stock it reserved goes back to the shelf (last, as in the checkout's lock order)."""
    if Fulfilment.objects.filter(order_id=order_id).update(status=Fulfilment.Status.CANCELLED):
        stock_release(order_id=order_id)


def fulfilment_paid(order: Order) -> None:
    """In the transaction that records the payment of `order` (read with its fulfilment):
    the goods are now to be picked up or shipped. One statement; an order without a
    fulfilment (a till's) is left alone."""
    fulfilment = getattr(order, "fulfilment", None)
    if fulfilment is not None and Fulfilment.objects.filter(
        pk=fulfilment.pk, status=Fulfilment.Status.WAITING
    ).update(status=Fulfilment.Status.TO_HAND_OVER):
        fulfilment.status = Fulfilment.Status.TO_HAND_OVER


@transaction.atomic
def pickup_complete(*, store: Store, pickup_code: str, actor, now=None) -> Order:
    """The member shows their pickup code at `store` (the POS, or the counter page) and takes
    the goods: once. `actor` is the person at the counter, or a label of the till that
    sent it. A code of another store's order is not found, as if it did not exist."""
    order_id = (
        Fulfilment.objects.filter(
            pickup_code=pickup_code.strip(), kind=Fulfilment.Kind.PICKUP, order__store=store
        )
        .values_list("order_id", flat=True)
        .first()
    )
    if order_id is None:
        raise PickupNotFound()
    order, fulfilment = _locked(order_id)
    _refuse_unless_to_hand_over(order, fulfilment, done=PickupAlreadyUsed)
    return _hand_over(order, fulfilment, actor=actor, now=now, action="fulfilment.pickup")


@transaction.atomic
def delivery_ship(
    *, order_id: int, ship_from: Store | None, carrier: str, tracking_no: str, actor, now=None
) -> Order:
    """The goods leave `ship_from` (a store, or None: HQ's warehouse) with `carrier` under
    `tracking_no`. Only the place the order ships from ships it; anywhere else it is not
    found. Shipped again with the same carrier and number, nothing changes (a form sent
    twice); with others, they are corrected (a mistyped number), audited."""
    order, fulfilment = _locked(order_id)
    if (
        fulfilment is None
        or fulfilment.kind != Fulfilment.Kind.DELIVERY
        or fulfilment.ship_from_id != (ship_from.pk if ship_from else None)
    ):
        raise FulfilmentNotFound()
    waybill = {"carrier": carrier.strip(), "tracking_no": tracking_no.strip()}
    if fulfilment.status == Fulfilment.Status.SHIPPED:
        before = {"carrier": fulfilment.carrier, "tracking_no": fulfilment.tracking_no}
        if before != waybill:
            Fulfilment.objects.filter(pk=order.pk).update(**waybill)
            audit_record(
                actor=actor, action="fulfilment.waybill", target=order, before=before, after=waybill
            )
        return order
    _refuse_unless_to_hand_over(order, fulfilment, done=NothingToShip)
    _hand_over(
        order,
        fulfilment,
        actor=actor,
        now=now,
        action="fulfilment.ship",
        status=Fulfilment.Status.SHIPPED,
        **waybill,
    )
    if (
        order.member_id
        and Member.objects.filter(pk=order.member_id, status=Member.Status.DELETED).exists()
    ):  # its member closed their account while it waited: now it has left
        deliveries_recipient_forget(member_id=order.member_id)
    return order


@transaction.atomic
def delivery_receive(*, order: Order, now=None) -> Order:
    """The member says their parcel came: only an order shipped and not received yet."""
    order, fulfilment = _locked(order.pk)
    if fulfilment is None or fulfilment.status != Fulfilment.Status.SHIPPED:
        raise NotShipped()
    Fulfilment.objects.filter(pk=order.pk).update(
        status=Fulfilment.Status.DONE, done_at=now or timezone.now()
    )
    _complete(order)
    return order


def deliveries_receive_due(*, now=None, batch: int = 500) -> int:
    """Parcels shipped ORDER_RECEIVE_DAYS ago and not received are received and their
    orders completed: per batch, its orders, then its fulfilments still shipped, one UPDATE
    each (the lock order of every writer), committed on its own, so a rerun after a crash,
    or beside a member receiving their own, does nothing twice. How many."""
    now = now or timezone.now()
    due = Fulfilment.objects.filter(
        status=Fulfilment.Status.SHIPPED,
        shipped_at__lte=now - timedelta(days=settings.ORDER_RECEIVE_DAYS),
    )
    received = 0
    while True:
        with transaction.atomic():
            ids = list(due.order_by("pk").values_list("pk", flat=True)[:batch])
            Order.objects.filter(pk__in=ids, status=Order.Status.PAID).update(
                status=Order.Status.COMPLETED
            )
            received += Fulfilment.objects.filter(
                pk__in=ids, status=Fulfilment.Status.SHIPPED
            ).update(status=Fulfilment.Status.DONE, done_at=now)
        if len(ids) < batch:
            return received


def _complete(order: Order) -> None:
    """A paid order whose goods its member now has (its lock held) is completed."""
    if order.status == Order.Status.PAID:
        Order.objects.filter(pk=order.pk).update(status=Order.Status.COMPLETED)
        order.status = Order.Status.COMPLETED


def _locked(order_id: int) -> tuple[Order, Fulfilment | None]:
    order = Order.objects.select_for_update().get(pk=order_id)
    return order, Fulfilment.objects.select_for_update().filter(pk=order_id).first()


def _refuse_unless_to_hand_over(order: Order, fulfilment: Fulfilment, *, done) -> None:
    """Goods leave only for a paid order, not cancelled or refunded in full, and once."""
    if order.status == Order.Status.CREATED:
        raise OrderNotPaidYet()
    if order.status == Order.Status.REFUNDED:
        raise OrderRefunded()
    if order.status == Order.Status.CANCELLED or fulfilment.status == Fulfilment.Status.CANCELLED:
        raise OrderCancelled()
    if fulfilment.status != Fulfilment.Status.TO_HAND_OVER:
        raise done()


def _hand_over(order: Order, fulfilment: Fulfilment, *, actor, now, action: str, **changes):
    """The goods leave: picked up (done) or shipped, by whom, off the shelf, audited."""
    now = now or timezone.now()
    changes.setdefault("status", Fulfilment.Status.DONE)
    changes["shipped_at" if changes["status"] == Fulfilment.Status.SHIPPED else "done_at"] = now
    changes["done_by"] = actor if getattr(actor, "is_authenticated", False) else None
    Fulfilment.objects.filter(pk=order.pk).update(**changes)
    if changes["status"] == Fulfilment.Status.DONE:
        _complete(order)
    stock_hand_over(order_id=order.pk)
    audit_record(
        actor=actor,
        action=action,
        target=order,
        before={"status": fulfilment.status},
        after={key: value for key, value in changes.items() if key != "done_by"},
    )
    return order

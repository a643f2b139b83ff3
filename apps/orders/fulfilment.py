"""How an online order reaches its member (`Fulfilment`): opened when the order is placed,
then handed over at the store or shipped and received."""

import secrets
from dataclasses import dataclass

from django.db import IntegrityError

from apps.core.rows import row_insert
from apps.orders.models import Fulfilment, Order
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

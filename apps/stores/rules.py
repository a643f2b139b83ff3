"""What a store may do in its state. A closed or suspended store takes no POS requests, no
joins, no sales and (when they come) no store-mall orders or store payments: every channel
asks `store_open_check` before it does business for a store."""

import hashlib

from apps.stores.errors import StoreClosed
from apps.stores.models import Store


def store_open_check(store: Store) -> None:
    """Raise StoreClosed unless the store accepts business."""
    if not store.accepts_business:
        raise StoreClosed(store=store)


def pos_key_hash(raw_key: str) -> str:
    # The key is 256 random bits, so a fast hash is enough: nothing to guess by brute force.
    return hashlib.sha256(raw_key.encode()).hexdigest()

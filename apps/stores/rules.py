"""What a store may do in its state. A closed or suspended store takes no POS requests, no
joins, no sales and (when they come) no store-mall orders or store payments: every channel
asks `store_open_check` before it does business for a store."""

from apps.stores.errors import StoreClosed
from apps.stores.models import Store


def store_open_check(store: Store) -> None:
    """Raise StoreClosed unless the store accepts business."""
    if not store.accepts_business:
        raise StoreClosed(store=store)

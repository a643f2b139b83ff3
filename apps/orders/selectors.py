from apps.orders.errors import OrderNotFound
from apps.orders.models import Order
from apps.stores.models import Store


def store_order(store: Store, external_id: str) -> Order:
    """One of this store's orders by the POS's own id; another store's is not found."""
    order = Order.objects.filter(store=store, external_id=external_id).first()
    if order is None:
        raise OrderNotFound()
    return order

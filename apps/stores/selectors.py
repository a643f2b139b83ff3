from apps.stores.errors import StoreNotFound
from apps.stores.models import PosApiKey, Store
from apps.stores.services import pos_key_hash


def store_get_by_code(code: str) -> Store:
    store = Store.objects.filter(code=code.upper()).first() if code else None
    if store is None:
        raise StoreNotFound(code=code)
    return store


def pos_key_active(raw_key: str) -> PosApiKey | None:
    """The active key with this value, with its store, or None."""
    return (
        PosApiKey.objects.select_related("store")
        .filter(key_hash=pos_key_hash(raw_key), revoked_at__isnull=True)
        .first()
    )

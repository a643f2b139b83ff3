from apps.core.rows import columns, instance, row_one
from apps.stores.errors import StoreNotFound
from apps.stores.models import PosApiKey, Store
from apps.stores.services import pos_key_hash


def store_by_code(code: str) -> Store | None:
    """The store with this code, in any case, or None."""
    return Store.objects.filter(code=code.upper()).first() if code else None


def store_get_by_code(code: str) -> Store:
    store = store_by_code(code)
    if store is None:
        raise StoreNotFound(code=code)
    return store


_ACTIVE_KEY_SQL = (
    f"SELECT {columns(PosApiKey, 'k')}, {columns(Store, 's')} FROM {PosApiKey._meta.db_table} k "
    f"JOIN {Store._meta.db_table} s ON s.id = k.store_id "
    "WHERE k.key_hash = %s AND k.revoked_at IS NULL"
)


def pos_key_active(raw_key: str) -> PosApiKey | None:
    """The active key with this value, with its store, or None. Every POS request asks
    this, so it is written by hand (apps.core.rows)."""
    row = row_one(_ACTIVE_KEY_SQL, [pos_key_hash(raw_key)])
    if row is None:
        return None
    split = len(PosApiKey._meta.concrete_fields)
    key = instance(PosApiKey, row[:split])
    key.store = instance(Store, row[split:])
    return key

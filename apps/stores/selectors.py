from django.db import connections

from apps.core.rows import column, columns, database_for_read, instance, table
from apps.stores.errors import StoreNotFound
from apps.stores.models import PosApiKey, Store
from apps.stores.rules import pos_key_hash


def store_by_code(code: str) -> Store | None:
    """The store with this code, in any case, or None."""
    return Store.objects.filter(code=code.upper()).first() if code else None


def store_get_by_code(code: str) -> Store:
    store = store_by_code(code)
    if store is None:
        raise StoreNotFound(code=code)
    return store


_ACTIVE_KEY_SQL = (
    f"SELECT {columns(PosApiKey, 'k')}, {columns(Store, 's')} FROM {table(PosApiKey)} k "
    f"JOIN {table(Store)} s ON s.{column(Store, 'pk')} = k.{column(PosApiKey, 'store')} "
    f"WHERE k.{column(PosApiKey, 'key_hash')} = %s "
    f"AND k.{column(PosApiKey, 'revoked_at')} IS NULL"
)


def pos_key_active(raw_key: str) -> PosApiKey | None:
    """The active key with this value, with its store, or None. Every POS request asks
    this, so it is written by hand (apps.core.rows)."""
    using = database_for_read(PosApiKey)
    with connections[using].cursor() as cursor:
        cursor.execute(_ACTIVE_KEY_SQL, [pos_key_hash(raw_key)])
        row = cursor.fetchone()
    if row is None:
        return None
    split = len(PosApiKey._meta.concrete_fields)
    key = instance(PosApiKey, row[:split], using)
    key.store = instance(Store, row[split:], using)
    return key

from apps.core.rows import columns, instance, rows_all
from apps.mall.models import Product


def products_by_sku(skus) -> dict[str, Product]:
    """The catalogue entries of an order's SKUs, in one query (by hand: every sale asks);
    unknown SKUs are absent."""
    skus = sorted(set(skus))
    if not skus:
        return {}
    rows = rows_all(
        f"SELECT {columns(Product, 'p')} FROM {Product._meta.db_table} p "
        f"WHERE p.sku IN ({', '.join(['%s'] * len(skus))})",
        skus,
    )
    return {product.sku: product for product in (instance(Product, row) for row in rows)}

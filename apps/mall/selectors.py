from django.db import connections

from apps.core.rows import column, columns, database_for_read, instance, table
from apps.mall.models import Product


def products_by_sku(skus) -> dict[str, Product]:
    """The catalogue entries of an order's SKUs, in one query (by hand: every sale asks);
    unknown SKUs are absent."""
    skus = sorted(set(skus))
    if not skus:
        return {}
    using = database_for_read(Product)
    with connections[using].cursor() as cursor:
        cursor.execute(
            f"SELECT {columns(Product, 'p')} FROM {table(Product)} p "
            f"WHERE p.{column(Product, 'sku')} IN ({', '.join(['%s'] * len(skus))})",
            skus,
        )
        rows = cursor.fetchall()
    return {product.sku: product for product in (instance(Product, row, using) for row in rows)}

from apps.mall.models import Product


def products_by_sku(skus) -> dict[str, Product]:
    """The catalogue entries of an order's SKUs, in one query; unknown SKUs are absent."""
    return {product.sku: product for product in Product.objects.filter(sku__in=set(skus))}

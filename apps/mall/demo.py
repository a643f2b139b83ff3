from decimal import Decimal

from apps.core.demo import DemoContext
from apps.mall.models import Category, Product, Sku

CATEGORIES = [
    ("上衣", "T恤", 99),
    ("裤装", "休闲裤", 199),
    ("鞋履", "运动鞋", 399),
    ("配饰", "帆布包", 59),
    ("美妆", "护手霜", 49),
]


def seed(ctx: DemoContext) -> None:
    """SKU0001…SKU0050: five categories, every third with a member price, every tenth for
    members only. The same whatever the seed, so that POS examples keep working."""
    for n in range(1, 51):
        top, noun, base = CATEGORIES[(n - 1) % len(CATEGORIES)]
        category, _created = Category.objects.get_or_create(
            name=noun, parent=Category.objects.get_or_create(name=top, parent=None)[0]
        )
        price = Decimal(base + (n // 5) * 10)
        product, _created = Product.objects.update_or_create(
            title=f"{noun} {n:02d}",
            defaults={"category": category, "members_only": n % 10 == 0, "position": n},
        )
        Sku.objects.update_or_create(
            sku=f"SKU{n:04d}",
            defaults={
                "product": product,
                "price": price,
                "member_price": (price * Decimal("0.85")).quantize(Decimal("1"))
                if n % 3 == 0
                else None,
            },
        )
    ctx.notes.append("Products: SKU0001…SKU0050 in five categories.")

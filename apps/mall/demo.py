from decimal import Decimal

from apps.core.demo import DemoContext
from apps.mall.models import Product

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
        category, noun, base = CATEGORIES[(n - 1) % len(CATEGORIES)]
        price = Decimal(base + (n // 5) * 10)
        Product.objects.update_or_create(
            sku=f"SKU{n:04d}",
            defaults={
                "name": f"{noun} {n:02d}",
                "category": category,
                "price": price,
                "member_price": (price * Decimal("0.85")).quantize(Decimal("1"))
                if n % 3 == 0
                else None,
                "members_only": n % 10 == 0,
            },
        )
    ctx.notes.append("Products: SKU0001…SKU0050 in five categories.")

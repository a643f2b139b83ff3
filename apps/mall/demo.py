"""The demo catalogue: two-level categories, 50 products with a picture each and one to
four SKUs, stock at HQ's warehouse and in every demo store, and each store's own mall.

Product n's first SKU is SKU000n, priced as API.md's examples and the POS tests expect
whatever the seed; its other SKUs are SKU000n-2…. The shape of the catalogue depends on n
only, so that a second run, with any seed, updates rather than duplicates; stock counts and
shelves are drawn from a generator of the seed's own, leaving ctx.rng to the apps after."""

import io
import random
from decimal import Decimal
from itertools import product as combinations

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from PIL import Image, ImageDraw

from apps.core.demo import DemoContext
from apps.core.qr import cjk_font
from apps.mall.images import product_image_set
from apps.mall.models import Category, Product, Shelf, Sku, Stock, TierPrice
from apps.mall.selectors import products_for_store
from apps.stores.demo import STORES
from apps.stores.models import Store
from apps.tiers.models import Tier

# top category, its card colour, base price, its two subcategories, and the specifications
# its SKUs vary by (name, values)
CATEGORIES = [
    ("上衣", "#c0392b", 99, ("T恤", "衬衫"), [("颜色", ("白", "黑")), ("尺码", ("M", "L"))]),
    (
        "裤装",
        "#2c3e50",
        199,
        ("休闲裤", "牛仔裤"),
        [("颜色", ("卡其", "藏青")), ("尺码", ("30", "32"))],
    ),
    ("鞋履", "#8e44ad", 399, ("运动鞋", "帆布鞋"), [("尺码", ("39", "40", "41", "42"))]),
    ("配饰", "#16a085", 59, ("帆布包", "棒球帽"), [("颜色", ("米白", "军绿", "黑"))]),
    ("美妆", "#d35400", 49, ("护手霜", "面霜"), [("规格", ("30ml", "50ml"))]),
]
STYLES = ["经典", "轻盈", "复古", "都市", "森系"]
NOT_IN_S003 = {12, 24, 36, 48}  # sold only in the other demo stores
TIER_PRICES = {"gold": Decimal("0.80"), "platinum": Decimal("0.75"), "diamond": Decimal("0.70")}
SOLD_OUT = [("SKU0002", "S001"), ("SKU0003", None)]  # (SKU, store; None: HQ's warehouse)
CARD_SIDE = 320


def seed(ctx: DemoContext) -> None:
    rng = random.Random(f"mall-{ctx.seed}")
    stores = {store.code: store for store in Store.objects.filter(code__in=_store_codes())}
    tiers = {tier.code: tier for tier in Tier.objects.filter(code__in=TIER_PRICES)}
    for n in range(1, 51):
        _product(n, stores, tiers)
    _stock(rng, stores)
    _shelves(rng, stores)
    ctx.notes.append(
        "Products: 50 in two-level categories, SKU0001…SKU0050 the first SKU of each"
        " (more as SKU0001-2…); stock at HQ and in every store; S003 sells 46 of them."
    )


def _store_codes() -> list[str]:
    return [row[0] for row in STORES]


def _product(n: int, stores: dict[str, Store], tiers: dict[str, Tier]) -> Product:
    top, colour, base, nouns, specs = CATEGORIES[(n - 1) % len(CATEGORIES)]
    parent = Category.objects.get_or_create(name=top, parent=None)[0]
    noun = nouns[(n - 1) // len(CATEGORIES) % 2]
    category = Category.objects.get_or_create(name=noun, parent=parent)[0]
    title = f"{STYLES[(n - 1) // 10]}{noun}"
    fields = {
        "title": title,
        "category": category,
        "description": f"{title}，{top}系列人气单品。",
        "members_only": n % 10 == 0,
        "featured": n % 8 == 1,
        "everywhere": n not in NOT_IN_S003,
        "position": n,
    }
    first = Sku.objects.select_related("product").filter(sku=f"SKU{n:04d}").first()
    if first is None:
        product = Product.objects.create(**fields)
    else:
        product = first.product
        Product.objects.filter(pk=product.pk).update(**fields)
        product.refresh_from_db()
    product.stores.set([] if product.everywhere else [s for c, s in stores.items() if c != "S003"])
    if not product.image or not default_storage.exists(product.image.name):
        product_image_set(product, ContentFile(_card(title, top, colour), name=f"{n}.jpg"))
        product.save(update_fields=["image", "thumbnail"])
    price = Decimal(base + (n // 5) * 10)
    member_price = (price * Decimal("0.85")).quantize(Decimal("1")) if n % 3 == 0 else None
    variants = list(combinations(*(values for _name, values in specs)))[: 1 + n * 7 % 4]
    for index, values in enumerate(variants, start=1):
        sku, _created = Sku.objects.update_or_create(
            sku=f"SKU{n:04d}" if index == 1 else f"SKU{n:04d}-{index}",
            defaults={
                "product": product,
                "specs": dict(zip((name for name, _values in specs), values, strict=True)),
                "price": price,
                "member_price": member_price,
                "active": True,
            },
        )
        if n % 7 == 0:
            for code, share in TIER_PRICES.items():
                TierPrice.objects.update_or_create(
                    sku=sku,
                    tier=tiers[code],
                    defaults={"price": (price * share).quantize(Decimal("1"))},
                )
    return product


def _card(title: str, top: str, colour: str) -> bytes:
    """A coloured card with the product's title: its demo picture."""
    card = Image.new("RGB", (CARD_SIDE, CARD_SIDE), colour)
    draw = ImageDraw.Draw(card)
    draw.rounded_rectangle((16, 16, CARD_SIDE - 16, CARD_SIDE - 16), 18, outline="white", width=4)
    middle = CARD_SIDE // 2
    draw.text((middle, middle - 10), title, font=cjk_font(44), fill="white", anchor="mm")
    draw.text((middle, middle + 50), top, font=cjk_font(24), fill="white", anchor="mm")
    buffer = io.BytesIO()
    card.save(buffer, format="JPEG", quality=85)
    return buffer.getvalue()


def _stock(rng: random.Random, stores: dict[str, Store]) -> None:
    """Counts made once: a second run keeps what sales and reservations did since."""
    sold_out = set(SOLD_OUT)
    for sku in Sku.objects.filter(sku__startswith="SKU").select_related("product"):
        Stock.objects.get_or_create(
            sku=sku,
            store=None,
            defaults={"on_hand": 0 if (sku.sku, None) in sold_out else rng.randint(30, 200)},
        )
        for code, store in stores.items():
            if code == "S003" and not sku.product.everywhere:
                continue
            on_hand = 0 if (sku.sku, code) in sold_out else rng.choice([2, 4, 8, 12, 20, 30])
            Stock.objects.get_or_create(sku=sku, store=store, defaults={"on_hand": on_hand})


def _shelves(rng: random.Random, stores: dict[str, Store]) -> None:
    """Each store pins two products and hides one, chosen once."""
    for store in stores.values():
        if Shelf.objects.filter(store=store).exists():
            continue
        chosen = rng.sample(list(products_for_store(store).order_by("pk")), 3)
        Shelf.objects.bulk_create(
            [
                Shelf(store=store, product=chosen[0], pinned=True),
                Shelf(store=store, product=chosen[1], pinned=True),
                Shelf(store=store, product=chosen[2], shown=False),
            ]
        )

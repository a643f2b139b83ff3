import json
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from django.db import connections
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from apps.core.categories import category_path
from apps.core.money import money
from apps.core.rows import column, database_for_read, table
from apps.mall.models import Category, Product, Shelf, Sku, TierPrice
from apps.stores.models import Store

# At most this many left to sell is low stock (the HQ console's filter, the demo).
LOW_STOCK = 5


@dataclass(frozen=True)
class ForSale:
    """A SKU as a checkout prices it: the member price is the tier's where it has one."""

    sku: str
    name: str
    category: str  # its path, "上衣/T恤"
    price: Decimal
    member_price: Decimal | None
    members_only: bool
    active: bool
    on_sale_from: datetime | None
    on_sale_until: datetime | None
    product_id: int

    def on_sale(self, now: datetime) -> bool:
        return (
            self.active
            and (self.on_sale_from is None or self.on_sale_from <= now)
            and (self.on_sale_until is None or now < self.on_sale_until)
        )


def products_by_sku(skus, tier_id: int | None = None) -> dict[str, ForSale]:
    """The catalogue entries of an order's SKUs, in one query (by hand: every sale asks);
    unknown SKUs are absent."""
    skus = sorted(set(skus))
    if not skus:
        return {}
    s, p, c = (lambda name, model=model: column(model, name) for model in (Sku, Product, Category))
    with connections[database_for_read(Sku)].cursor() as cursor:
        cursor.execute(
            f"SELECT s.{s('sku')}, p.{p('title')}, s.{s('specs')}, c.{c('name')}, pc.{c('name')},"
            f" s.{s('price')}, COALESCE(tp.{column(TierPrice, 'price')}, s.{s('member_price')}),"
            f" p.{p('members_only')}, s.{s('active')} AND p.{p('active')},"
            f" p.{p('on_sale_from')}, p.{p('on_sale_until')}, p.{p('pk')}"
            f" FROM {table(Sku)} s"
            f" JOIN {table(Product)} p ON p.{p('pk')} = s.{s('product')}"
            f" JOIN {table(Category)} c ON c.{c('pk')} = p.{p('category')}"
            f" LEFT JOIN {table(Category)} pc ON pc.{c('pk')} = c.{c('parent')}"
            f" LEFT JOIN {table(TierPrice)} tp ON tp.{column(TierPrice, 'sku')} = s.{s('pk')}"
            f" AND tp.{column(TierPrice, 'tier')} = %s"
            f" WHERE s.{s('sku')} IN ({', '.join(['%s'] * len(skus))})",
            [tier_id, *skus],
        )
        rows = cursor.fetchall()
    return {row[0]: _for_sale(*row) for row in rows}


def _for_sale(
    sku,
    title,
    specs,
    category,
    parent,
    price,
    member_price,
    members_only,
    active,
    on_sale_from,
    on_sale_until,
    product_id,
) -> ForSale:
    if isinstance(specs, str):  # SQLite hands back JSON as text, amounts as floats, naive times
        specs = json.loads(specs)
    return ForSale(
        sku=sku,
        name=f"{title} {' '.join(str(value) for value in specs.values())}".strip(),
        category=category_path(category, parent),
        price=money(Decimal(str(price))),
        member_price=None if member_price is None else money(Decimal(str(member_price))),
        members_only=bool(members_only),
        active=bool(active),
        on_sale_from=_aware(on_sale_from),
        on_sale_until=_aware(on_sale_until),
        product_id=product_id,
    )


def _aware(moment: datetime | None) -> datetime | None:
    if moment is None or timezone.is_aware(moment):
        return moment
    return timezone.make_aware(moment, UTC)


def products_for_store(store: Store) -> QuerySet[Product]:
    """HQ's rule: the products `store` may sell now: on sale (active, within their window,
    with a SKU on sale), sold everywhere or in the stores listed with it."""
    now = timezone.now()
    listed = Product.stores.through.objects.filter(product=OuterRef("pk"), store=store)
    return Product.objects.filter(
        Q(on_sale_from=None) | Q(on_sale_from__lte=now),
        Q(on_sale_until=None) | Q(on_sale_until__gt=now),
        Q(everywhere=True) | Exists(listed),
        Exists(Sku.objects.filter(product=OuterRef("pk"), active=True)),
        active=True,
    )


def store_shelf(store: Store) -> QuerySet[Product]:
    """The products `store` may sell, each with what its mall does with it (`shown`,
    `pinned`: no Shelf row is shown, not pinned), the pinned ones first."""
    shelf = Shelf.objects.filter(store=store, product=OuterRef("pk"))
    return (
        products_for_store(store)
        .annotate(
            shown=~Exists(shelf.filter(shown=False)), pinned=Exists(shelf.filter(pinned=True))
        )
        .order_by("-pinned", "position", "id")
    )


def store_mall_products(store: Store) -> QuerySet[Product]:
    """What the store's own mall shows: the products it may sell that it has not hidden,
    the ones it pinned first (`pinned` on each)."""
    return store_shelf(store).filter(shown=True)

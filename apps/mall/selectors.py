import functools
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from django.conf import settings
from django.db import connections
from django.db.models import Exists, OuterRef, Q, QuerySet, Value
from django.utils import timezone

from apps.core.categories import category_path
from apps.core.money import money
from apps.core.rows import column, database_for_read, table
from apps.mall.models import Category, Product, Shelf, Sku, Stock, TierPrice
from apps.stores.models import Store


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


def products_for_store(store: Store | None, *, now: datetime | None = None) -> QuerySet[Product]:
    """HQ's rule of what a store may sell: products on sale now, with a SKU on sale, sold in
    every store or in this one. HQ's own mall (no store) sells those sold everywhere."""
    now = now or timezone.now()
    where = Q(everywhere=True)
    if store is not None:
        where |= Exists(Product.stores.through.objects.filter(product=OuterRef("pk"), store=store))
    return Product.objects.filter(
        where,
        Q(on_sale_from__isnull=True) | Q(on_sale_from__lte=now),
        Q(on_sale_until__isnull=True) | Q(on_sale_until__gt=now),
        Exists(Sku.objects.filter(product=OuterRef("pk"), active=True)),
        active=True,
    )


def store_shelf(store: Store, *, now: datetime | None = None) -> QuerySet[Product]:
    """The products `store` may sell, each with what its mall does with it (`shown`,
    `pinned`: no Shelf row is shown, not pinned), the pinned ones first."""
    shelf = Shelf.objects.filter(store=store, product=OuterRef("pk"))
    return (
        products_for_store(store, now=now)
        .annotate(
            shown=~Exists(shelf.filter(shown=False)), pinned=Exists(shelf.filter(pinned=True))
        )
        .order_by("-pinned", "position", "pk")
    )


def store_mall_products(store: Store | None, *, now: datetime | None = None) -> QuerySet[Product]:
    """What a store's own mall shows: what it may sell and has not hidden, the products it
    pinned first (annotated `pinned`), then in HQ's order. HQ's own mall (no store) shows
    what every store sells."""
    if store is None:
        products = products_for_store(None, now=now)
        return products.annotate(pinned=Value(False)).order_by("position", "pk")
    return store_shelf(store, now=now).filter(shown=True)


def stock_available(sku_ids, store: Store | None) -> dict[int, int]:
    """What one order can take of each SKU (by id), in one query: the most that the store
    (for pickup) or HQ's warehouse has on hand and not reserved. SKUs without stock are
    absent."""
    available: dict[int, int] = {}
    rows = Stock.objects.filter(Q(store__isnull=True) | Q(store=store), sku_id__in=sku_ids)
    for sku_id, on_hand, reserved in rows.values_list("sku_id", "on_hand", "reserved"):
        available[sku_id] = max(available.get(sku_id, 0), on_hand - reserved)
    return available


def stock_state(available: int) -> str:
    """in_stock, low (MALL_LOW_STOCK or fewer left) or out_of_stock, as the mall shows it."""
    if available <= 0:
        return "out_of_stock"
    return "low" if available <= settings.MALL_LOW_STOCK else "in_stock"


def skus_sellable_at(store: Store, skus, *, stock_at: Store | None, now=None) -> dict[str, int]:
    """Which of `skus` a member may buy online in `store`'s mall (on sale, of a product the
    mall shows: `store_mall_products`, whose rule this one statement repeats by hand, as
    every online order asks) and how many of each `stock_at` (a store, or HQ's warehouse for
    None) has left to sell. SKUs not sellable there are absent."""
    skus = sorted(set(skus))
    if not skus:
        return {}
    database = connections[database_for_read(Sku)]
    moment = database.ops.adapt_datetimefield_value(now or timezone.now())
    with database.cursor() as cursor:
        cursor.execute(
            _sellable_sql(len(skus), warehouse=stock_at is None),
            [
                *([] if stock_at is None else [stock_at.pk]),
                *skus,
                moment,
                moment,
                store.pk,
                store.pk,
            ],
        )
        return dict(cursor.fetchall())


@functools.cache
def _sellable_sql(count: int, *, warehouse: bool) -> str:
    s, p, k, h = (
        lambda name, model=model: column(model, name) for model in (Sku, Product, Stock, Shelf)
    )
    sold_in = Product.stores.through
    return (
        f"SELECT s.{s('sku')}, COALESCE((SELECT st.{k('on_hand')} - st.{k('reserved')}"
        f" FROM {table(Stock)} st WHERE st.{k('sku')} = s.{s('pk')}"
        f" AND st.{k('store')} {'IS NULL' if warehouse else '= %s'} LIMIT 1), 0)"
        f" FROM {table(Sku)} s JOIN {table(Product)} p ON p.{p('pk')} = s.{s('product')}"
        f" WHERE s.{s('sku')} IN ({', '.join(['%s'] * count)})"
        f" AND s.{s('active')} AND p.{p('active')}"
        f" AND (p.{p('on_sale_from')} IS NULL OR p.{p('on_sale_from')} <= %s)"
        f" AND (p.{p('on_sale_until')} IS NULL OR p.{p('on_sale_until')} > %s)"
        f" AND (p.{p('everywhere')} OR EXISTS (SELECT 1 FROM {table(sold_in)} ps"
        f" WHERE ps.{column(sold_in, 'product')} = p.{p('pk')}"
        f" AND ps.{column(sold_in, 'store')} = %s))"
        f" AND NOT EXISTS (SELECT 1 FROM {table(Shelf)} sh WHERE sh.{h('store')} = %s"
        f" AND sh.{h('product')} = p.{p('pk')} AND NOT sh.{h('shown')})"
    )

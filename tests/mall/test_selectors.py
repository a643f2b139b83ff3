"""Which products a store may sell (HQ's rule), and what its own mall shows."""

import itertools
from datetime import timedelta

import pytest
from django.utils import timezone

from apps.mall.models import Shelf, Stock
from apps.mall.selectors import products_for_store, skus_sellable_at, store_mall_products
from tests.mall.factories import ProductFactory, SkuFactory
from tests.stores.factories import StoreFactory

pytestmark = pytest.mark.django_db


def on_sale(**fields):
    product = ProductFactory(**fields)
    SkuFactory(product=product)
    return product


def test_a_store_may_sell_what_is_sold_everywhere_or_lists_it():
    store, other = StoreFactory(), StoreFactory()
    everywhere = on_sale(position=1)
    listed = on_sale(everywhere=False, position=2)
    listed.stores.set([store, other])  # two stores listed: still once
    elsewhere = on_sale(everywhere=False, position=3)
    elsewhere.stores.set([other])
    also_listed = on_sale(position=4)
    also_listed.stores.set([store, other])

    assert list(products_for_store(store).order_by("position")) == [
        everywhere,
        listed,
        also_listed,
    ]


def test_only_what_is_on_sale_now_with_a_sku_on_sale():
    store = StoreFactory()
    now = timezone.now()
    selling = on_sale()
    on_sale(active=False)
    on_sale(on_sale_from=now + timedelta(hours=1))
    on_sale(on_sale_until=now - timedelta(seconds=1))
    ProductFactory()  # no SKU
    SkuFactory(product=ProductFactory(), active=False)
    window = on_sale(on_sale_from=now - timedelta(days=1), on_sale_until=now + timedelta(days=1))

    assert set(products_for_store(store)) == {selling, window}


def test_the_mall_shows_what_is_not_hidden_pinned_first():
    store, other = StoreFactory(), StoreFactory()
    first, second, hidden, pinned = (on_sale(position=n) for n in range(4))
    Shelf.objects.create(store=store, product=hidden, shown=False)
    Shelf.objects.create(store=store, product=pinned, pinned=True)
    Shelf.objects.create(store=store, product=second, shown=True)
    Shelf.objects.create(store=other, product=first, shown=False)  # another store's choice

    shown = list(store_mall_products(store))

    assert shown == [pinned, first, second]
    assert [product.pinned for product in shown] == [True, False, False]
    assert hidden in store_mall_products(other)


def test_an_online_orders_statement_sells_exactly_what_the_mall_shows():
    """skus_sellable_at repeats store_mall_products' rule in one statement for every online
    order: over every combination of HQ's and the store's choices, the two agree, and what is
    left to sell is the stock of the place the order is taken from."""
    store, other = StoreFactory(), StoreFactory()
    now = timezone.now()
    windows = [(None, None), (now - timedelta(days=1), None), (None, now - timedelta(hours=1))]
    windows.append((now + timedelta(hours=1), None))
    skus = []
    for n, (where, window, product_on, sku_on, shelf) in enumerate(
        itertools.product(
            ["everywhere", "listed", "elsewhere"],
            windows,
            [True, False],
            [True, False],
            [None, "shown", "hidden", "pinned"],
        )
    ):
        product = ProductFactory(
            everywhere=where == "everywhere",
            on_sale_from=window[0],
            on_sale_until=window[1],
            active=product_on,
        )
        if where != "everywhere":
            product.stores.set([store if where == "listed" else other])
        if shelf:
            Shelf.objects.create(
                store=store, product=product, shown=shelf != "hidden", pinned=shelf == "pinned"
            )
        sku = SkuFactory(product=product, sku=f"C{n:03d}", active=sku_on)
        Stock.objects.create(sku=sku, store=store, on_hand=n + 5, reserved=n % 3)
        Stock.objects.create(sku=sku, store=None, on_hand=2 * n + 1)
        skus.append(sku)

    shown = set(store_mall_products(store, now=now).values_list("pk", flat=True))
    expected = {sku.sku for sku in skus if sku.active and sku.product_id in shown}
    at_store = skus_sellable_at(store, [sku.sku for sku in skus], stock_at=store, now=now)
    from_hq = skus_sellable_at(store, [sku.sku for sku in skus], stock_at=None, now=now)

    assert set(at_store) == set(from_hq) == expected and 0 < len(expected) < len(skus)
    by_sku = {sku.sku: int(sku.sku[1:]) for sku in skus}
    assert at_store == {sku: by_sku[sku] + 5 - by_sku[sku] % 3 for sku in expected}
    assert from_hq == {sku: 2 * by_sku[sku] + 1 for sku in expected}

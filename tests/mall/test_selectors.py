"""Which products a store may sell (HQ's rule), and what its own mall shows."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.mall.models import Shelf
from apps.mall.selectors import products_for_store, store_mall_products
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

import itertools

import pytest
from django.db import transaction

from apps.mall.errors import OutOfStock
from apps.mall.models import Reservation, Stock
from apps.mall.stock import stock_hand_over, stock_release, stock_reserve
from tests.conftest import run_together
from tests.mall.factories import SkuFactory
from tests.stores.factories import StoreFactory


def _stock(sku: str, on_hand: int, store=None) -> Stock:
    return Stock.objects.create(sku=SkuFactory(sku=sku), store=store, on_hand=on_hand)


def _left(stock: Stock) -> tuple[int, int]:
    stock.refresh_from_db()
    return stock.on_hand, stock.reserved


@pytest.mark.django_db
def test_an_order_reserves_all_its_lines_at_its_location_or_none():
    store = StoreFactory()
    tee, cap = _stock("TEE", 5, store), _stock("CAP", 1, store)
    warehouse_tee = Stock.objects.create(sku=tee.sku, store=None, on_hand=100)

    stock_reserve(order_id=1, store=store, items=[("TEE", 2), ("CAP", 1), ("TEE", 1)])
    with pytest.raises(OutOfStock) as refused, transaction.atomic():
        stock_reserve(order_id=2, store=store, items=[("TEE", 1), ("CAP", 1)])

    assert refused.value.params == {"sku": "CAP", "left": 0}
    assert _left(tee) == (5, 3) and _left(cap) == (1, 1)
    assert _left(warehouse_tee) == (100, 0)
    assert not Reservation.objects.filter(order_id=2).exists()
    assert Reservation.objects.get(order_id=1, stock=tee).quantity == 3


@pytest.mark.django_db
def test_a_sku_the_location_does_not_stock_is_out_of_stock():
    SkuFactory(sku="TEE")

    with pytest.raises(OutOfStock), transaction.atomic():
        stock_reserve(order_id=1, store=None, items=[("TEE", 1)])


@pytest.mark.django_db
def test_release_gives_back_what_is_held_once_and_in_part():
    tee, cap = _stock("TEE", 5), _stock("CAP", 5)
    stock_reserve(order_id=1, store=None, items=[("TEE", 3), ("CAP", 2)])

    stock_release(order_id=1, items=[("TEE", 1), ("CAP", 9)])
    assert _left(tee) == (5, 2) and _left(cap) == (5, 0)
    stock_release(order_id=1)
    stock_release(order_id=1)
    assert _left(tee) == (5, 0)
    assert Reservation.objects.get(stock=tee).released == 3


@pytest.mark.django_db
def test_hand_over_takes_what_is_held_off_the_shelf_once():
    tee = _stock("TEE", 5)
    stock_reserve(order_id=1, store=None, items=[("TEE", 3)])
    stock_release(order_id=1, items=[("TEE", 1)])

    stock_hand_over(order_id=1)
    stock_hand_over(order_id=1)
    stock_release(order_id=1)

    assert _left(tee) == (3, 0)
    reservation = Reservation.objects.get(stock=tee)
    assert (reservation.released, reservation.handed_over, reservation.held) == (1, 2, 0)


@pytest.mark.django_db
def test_reserving_writes_the_same_statements_for_one_line_or_many(django_assert_num_queries):
    for n in range(10):
        _stock(f"S{n}", 5)

    with django_assert_num_queries(3):  # the locking read, one update, the reservations
        stock_reserve(order_id=1, store=None, items=[("S0", 1)])
    with django_assert_num_queries(3):
        stock_reserve(order_id=2, store=None, items=[(f"S{n}", 1) for n in range(10)])


@pytest.mark.django_db
def test_a_sold_out_sku_is_refused_with_nothing_reserved():
    _stock("TEE", 0)

    with transaction.atomic(), pytest.raises(OutOfStock):
        stock_reserve(order_id=1, store=None, items=[("TEE", 1)])
    assert not Reservation.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_fifty_buyers_for_ten_never_oversell():
    tee, cap = _stock("TEE", 10), _stock("CAP", 1000)
    orders = itertools.count(1)

    def buy():
        # half the buyers name the SKUs in the other order: locks are still taken in one order
        order_id = next(orders)
        items = [("TEE", 1), ("CAP", 1)] if order_id % 2 else [("CAP", 1), ("TEE", 1)]
        try:
            with transaction.atomic():
                stock_reserve(order_id=order_id, store=None, items=items)
            return True
        except OutOfStock:
            return False

    results = run_together(buy, 50)

    assert results.count(True) == 10
    assert _left(tee) == (10, 10) and _left(cap) == (1000, 10)
    assert Reservation.objects.count() == 20

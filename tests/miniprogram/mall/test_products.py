"""The mall's read API (API.md, Mall): a store's mall, its products and a product, at the
caller's own price, open to visitors not signed in."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from apps.mall.models import Product, Shelf, Stock, TierPrice
from apps.orders.builder import ItemInput, checkout_build
from apps.orders.checkout import order_quote
from tests.mall.factories import ProductFactory, SkuFactory, category_of
from tests.members.factories import member_client
from tests.stores.factories import StoreFactory

pytestmark = pytest.mark.django_db


def _listed(client, query="store=S001") -> dict:
    response = client.get(f"/api/v1/products?{query}")
    assert response.status_code == 200, response.json()
    return {item["title"]: item for item in response.json()["results"]}


def test_a_visitor_sees_list_prices_and_no_members_only_products(api_client, store, catalogue):
    listed = _listed(api_client)

    assert sorted(listed) == ["T恤", "运动鞋"]
    assert listed["运动鞋"] == {
        "id": catalogue["SHOE"].product_id,
        "title": "运动鞋",
        "image": None,
        "thumbnail": None,
        "price": "399.00",
        "my_price": "399.00",
        "members_only": False,
        "featured": False,
        "stock_state": "in_stock",
        "category": {"id": catalogue["SHOE"].product.category_id, "name": "鞋履"},
    }


def test_a_member_sees_members_only_products_at_their_price(member_api, store, catalogue):
    listed = _listed(member_api)

    assert sorted(listed) == ["T恤", "会员专享包", "运动鞋"]
    assert listed["运动鞋"]["my_price"] == "349.00"  # the member price
    assert listed["T恤"]["my_price"] == "100.00"  # normal tier: no discount
    assert listed["会员专享包"]["members_only"] is True


def test_a_gold_member_pays_the_tier_price_else_the_tier_discount_of_the_mall(
    gold_api, store, catalogue
):
    listed = _listed(gold_api)

    assert listed["运动鞋"]["my_price"] == "329.00"  # gold's tier price beats the member price
    assert listed["T恤"]["my_price"] == "92.00"  # gold's 8% in the mall, not its 10%
    assert listed["T恤"]["price"] == "100.00"


@pytest.mark.parametrize("who", ["member", "gold_member"])
def test_my_price_is_what_the_checkout_charges_for_one_unit(
    request, api_client, store, catalogue, who
):
    member = request.getfixturevalue(who)
    client = member_client(api_client, member)
    for code, sku in catalogue.items():
        shown = client.get(f"/api/v1/products/{sku.product_id}?store=S001").json()
        quote = order_quote(
            checkout_build(
                store=store, channel="mall", member=member, items=[ItemInput(sku=code, quantity=1)]
            )
        ).quote
        assert Decimal(shown["my_price"]) == quote.payable, code
        assert Decimal(shown["skus"][0]["my_price"]) == quote.payable, code


def test_a_product_shows_its_skus_and_the_lowest_price(gold_api, store, tiers):
    tee = SkuFactory(sku="TEE-M", name="T恤", price=Decimal("120"), specs={"尺码": "M"})
    SkuFactory(sku="TEE-L", product=tee.product, price=Decimal("110"), specs={"尺码": "L"})
    SkuFactory(sku="TEE-XL", product=tee.product, price=Decimal("90"), active=False)
    Stock.objects.create(sku=tee, store=store, on_hand=3)

    response = gold_api.get(f"/api/v1/products/{tee.product_id}?store=S001")

    assert response.status_code == 200
    body = response.json()
    assert (body["price"], body["my_price"], body["stock_state"]) == ("110.00", "101.20", "low")
    assert body["skus"] == [
        {
            "sku": "TEE-L",
            "specs": {"尺码": "L"},
            "price": "110.00",
            "my_price": "101.20",
            "stock_state": "out_of_stock",
        },
        {
            "sku": "TEE-M",
            "specs": {"尺码": "M"},
            "price": "120.00",
            "my_price": "110.40",
            "stock_state": "low",
        },
    ]


def test_a_members_only_product_is_not_found_by_a_visitor(member_api, catalogue):
    path = f"/api/v1/products/{catalogue['VIP'].product_id}"

    assert APIClient().get(path).status_code == 404
    assert member_api.get(path).status_code == 200


def test_a_product_not_on_sale_is_not_found(api_client, catalogue):
    Product.objects.filter(pk=catalogue["TEE"].product_id).update(active=False)

    response = api_client.get(f"/api/v1/products/{catalogue['TEE'].product_id}")

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_an_unknown_token_is_refused_not_taken_for_a_visitor(api_client, catalogue):
    api_client.credentials(HTTP_AUTHORIZATION="Bearer nosuchtoken")

    assert api_client.get("/api/v1/products").status_code == 401


@pytest.mark.parametrize(
    ("store_stock", "hq_stock", "reserved", "state"),
    [
        (None, None, 0, "out_of_stock"),
        (0, 0, 0, "out_of_stock"),
        (7, 0, 7, "out_of_stock"),  # all of it held by orders
        (5, None, 0, "low"),  # MALL_LOW_STOCK = 5 or fewer
        (None, 6, 0, "in_stock"),
        (8, 2, 3, "low"),  # the store has 5 left, HQ 2: one order can take 5 at most
    ],
)
def test_stock_state_from_the_store_and_hq(
    api_client, store, tiers, settings, store_stock, hq_stock, reserved, state
):
    settings.MALL_LOW_STOCK = 5
    sku = SkuFactory(sku="CAP", name="帽子")
    if store_stock is not None:
        Stock.objects.create(sku=sku, store=store, on_hand=store_stock, reserved=reserved)
    if hq_stock is not None:
        Stock.objects.create(sku=sku, store=None, on_hand=hq_stock)

    assert _listed(api_client)["帽子"]["stock_state"] == state


def test_stock_of_another_store_does_not_count(api_client, store, tiers):
    sku = SkuFactory(sku="CAP", name="帽子")
    Stock.objects.create(sku=sku, store=StoreFactory(), on_hand=50)

    assert _listed(api_client)["帽子"]["stock_state"] == "out_of_stock"


def test_a_store_mall_shows_what_hq_lets_it_sell_and_it_has_not_hidden(api_client, store, tiers):
    now = timezone.now()
    SkuFactory(name="到处卖")
    only_here = SkuFactory(name="本店专卖").product
    only_here.everywhere = False
    only_here.save()
    only_here.stores.add(store)
    elsewhere = SkuFactory(name="别店专卖").product
    elsewhere.everywhere = False
    elsewhere.save()
    elsewhere.stores.add(StoreFactory())
    hidden = SkuFactory(name="本店不卖").product
    Shelf.objects.create(store=store, product=hidden, shown=False)
    SkuFactory(name="已下架", product=ProductFactory(title="已下架", active=False))
    SkuFactory(
        name="未开售", product=ProductFactory(title="未开售", on_sale_from=now + timedelta(days=1))
    )
    SkuFactory(name="已过期", product=ProductFactory(title="已过期", on_sale_until=now))
    SkuFactory(name="规格停售", product=ProductFactory(title="规格停售"), active=False)

    assert sorted(_listed(api_client)) == ["到处卖", "本店专卖"]
    # HQ's mall: what is sold everywhere; a store's shelves are its own
    assert sorted(_listed(api_client, "")) == ["到处卖", "本店不卖"]
    assert sorted(_listed(api_client, "store=")) == ["到处卖", "本店不卖"]


def test_pinned_products_come_first_then_hq_order(api_client, store, tiers):
    first = SkuFactory(name="一", product=ProductFactory(title="一", position=1)).product
    second = SkuFactory(name="二", product=ProductFactory(title="二", position=2)).product
    third = SkuFactory(name="三", product=ProductFactory(title="三", position=3)).product
    Shelf.objects.create(store=store, product=third, pinned=True)

    response = api_client.get("/api/v1/products?store=S001")

    results = response.json()["results"]
    assert [item["title"] for item in results] == ["三", "一", "二"]
    assert [item["featured"] for item in results] == [True, False, False]
    assert (first.pk, second.pk) == (results[1]["id"], results[2]["id"])


def test_category_takes_in_its_subcategories_and_q_searches_titles(api_client, store, catalogue):
    SkuFactory(name="衬衫", category="上衣/衬衫")
    SkuFactory(name="羽绒服", category="外套")
    top = category_of("上衣")

    assert sorted(_listed(api_client, f"store=S001&category={top.pk}")) == ["T恤", "衬衫"]
    shirts = category_of("上衣/衬衫")
    assert sorted(_listed(api_client, f"store=S001&category={shirts.pk}")) == ["衬衫"]
    assert sorted(_listed(api_client, "store=S001&q=运动")) == ["运动鞋"]
    assert sorted(_listed(api_client, f"category={top.pk}&q=T")) == ["T恤"]


@pytest.mark.parametrize("query", ["store=NOPE", "category=999999", "category=abc"])
def test_an_unknown_store_or_category_is_invalid(api_client, catalogue, query):
    response = api_client.get(f"/api/v1/products?{query}")

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert list(body["fields"]) == [query.split("=")[0]]


def test_the_product_list_is_paginated(api_client, store, tiers):
    for n in range(3):
        SkuFactory(name=f"商品{n}")

    response = api_client.get("/api/v1/products?store=S001&page_size=2")

    body = response.json()
    assert (body["count"], len(body["results"]), body["previous"]) == (3, 2, None)
    assert body["next"].endswith("page=2&page_size=2&store=S001")


def test_a_store_mall_has_its_featured_products_and_its_categories(api_client, store, catalogue):
    Product.objects.filter(pk=catalogue["SHOE"].product_id).update(featured=True)
    Shelf.objects.create(store=store, product=catalogue["TEE"].product, pinned=True)
    category_of("空类目")

    response = api_client.get("/api/v1/stores/S001/mall")

    assert response.status_code == 200
    body = response.json()
    assert body["store"]["code"] == "S001"
    assert [item["title"] for item in body["featured"]] == ["T恤", "运动鞋"]
    tops = category_of("上衣"), category_of("鞋履")
    assert body["categories"] == [
        {
            "id": tops[0].pk,
            "name": "上衣",
            "children": [{"id": category_of("上衣/T恤").pk, "name": "T恤"}],
        },
        {"id": tops[1].pk, "name": "鞋履", "children": []},
    ]


def test_an_unknown_store_has_no_mall(api_client, tiers):
    response = api_client.get("/api/v1/stores/NOPE/mall", HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def _catalogue_of(count: int, store, gold):
    for n in range(count):
        product = ProductFactory(title=f"商品{n}", category=category_of(f"类{n % 3}/子{n}"))
        for size in ("M", "L"):
            sku = SkuFactory(sku=f"P{n}-{size}", product=product, specs={"尺码": size})
            TierPrice.objects.create(sku=sku, tier=gold, price=50)
            Stock.objects.create(sku=sku, store=store, on_hand=n)
            Stock.objects.create(sku=sku, store=None, on_hand=1)
        Shelf.objects.create(store=store, product=product, pinned=n % 2 == 0)


@pytest.mark.parametrize("page_size", [1, 20])
def test_the_product_list_takes_as_many_queries_for_one_product_as_for_twenty(
    gold_api, store, tiers, page_size, django_assert_max_num_queries
):
    _catalogue_of(20, store, tiers[1])
    gold_api.get("/api/v1/products")  # the tiers, cached reference data

    with django_assert_max_num_queries(8):
        response = gold_api.get(f"/api/v1/products?store=S001&page_size={page_size}")

    assert len(response.json()["results"]) == page_size


@pytest.mark.parametrize("count", [1, 20])
def test_a_store_mall_takes_as_many_queries_for_one_product_as_for_twenty(
    gold_api, store, tiers, count, django_assert_max_num_queries
):
    _catalogue_of(count, store, tiers[1])
    gold_api.get("/api/v1/products")

    with django_assert_max_num_queries(10):
        response = gold_api.get("/api/v1/stores/S001/mall")

    assert len(response.json()["featured"]) == (count + 1) // 2

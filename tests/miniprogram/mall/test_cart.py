"""The cart kept on the server (API.md, `me/cart`): replaced whole by PUT, shown with each
line at the member's price and the checkout's quote."""

import itertools
from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from apps.mall.models import Product, Shelf, Sku, Stock
from apps.members.credentials import member_token_issue
from apps.members.services import member_delete
from apps.orders.builder import ItemInput, checkout_build
from apps.orders.checkout import order_quote
from apps.orders.models import Cart, CartLine
from tests.conftest import run_together
from tests.mall.factories import SkuFactory
from tests.stores.factories import StoreFactory

pytestmark = pytest.mark.django_db


def _put(client, lines, store_code="S001", **extra):
    return client.put(
        "/api/v1/me/cart", {"store_code": store_code, "lines": lines}, format="json", **extra
    )


def test_an_empty_cart(gold_api):
    response = gold_api.get("/api/v1/me/cart")

    assert response.status_code == 200
    assert response.json() == {"store": None, "lines": [], "quote": None}


def test_put_keeps_the_lines_and_answers_them_priced_with_the_checkout_quote(
    gold_api, gold_member, store, catalogue
):
    lines = [{"sku": "TEE", "quantity": 2}, {"sku": "SHOE", "quantity": 1}]

    response = _put(gold_api, lines)

    assert response.status_code == 200
    body = response.json()
    assert body["store"]["code"] == "S001"
    assert body["lines"] == [
        {
            "sku": "TEE",
            "name": "T恤",
            "specs": {},
            "quantity": 2,
            "unit_price": "100.00",
            "my_price": "92.00",
            "stock_state": "in_stock",
            "on_sale": True,
            "image": None,
        },
        {
            "sku": "SHOE",
            "name": "运动鞋",
            "specs": {},
            "quantity": 1,
            "unit_price": "399.00",
            "my_price": "329.00",
            "stock_state": "in_stock",
            "on_sale": True,
            "image": None,
        },
    ]
    quote = order_quote(
        checkout_build(
            store=store,
            channel="mall",
            member=gold_member,
            items=[ItemInput(sku="TEE", quantity=2), ItemInput(sku="SHOE", quantity=1)],
        )
    ).as_dict()
    assert body["quote"]["payable"] == "513.00" == f"{quote['payable']:.2f}"
    assert body["quote"]["subtotal"] == "599.00"
    assert body["quote"]["member_discount"] == "86.00"
    assert gold_api.get("/api/v1/me/cart").json() == body


def test_put_replaces_the_cart_and_may_move_it_to_another_store(gold_api, catalogue, store):
    _put(gold_api, [{"sku": "TEE", "quantity": 2}, {"sku": "SHOE", "quantity": 1}])
    StoreFactory(code="S002")

    body = _put(gold_api, [{"sku": "VIP", "quantity": 3}], store_code="s002").json()

    assert body["store"]["code"] == "S002"
    assert [(line["sku"], line["quantity"]) for line in body["lines"]] == [("VIP", 3)]
    assert CartLine.objects.count() == 1
    assert Cart.objects.count() == 1


def test_the_same_put_twice_is_the_same_cart(gold_api, catalogue, store):
    lines = [{"sku": "TEE", "quantity": 2}]

    first = _put(gold_api, lines).json()
    again = _put(gold_api, lines).json()

    assert first == again
    assert CartLine.objects.count() == 1


def test_an_empty_list_empties_the_cart(gold_api, catalogue, store):
    _put(gold_api, [{"sku": "TEE", "quantity": 2}])

    body = _put(gold_api, []).json()

    assert (body["lines"], body["quote"]) == ([], None)
    assert body["store"]["code"] == "S001"


def _cart_of(member) -> list:
    return list(CartLine.objects.filter(cart__member=member).values_list("sku__sku", "quantity"))


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"store_code": "S001", "lines": [{"sku": "NOPE", "quantity": 1}]}, "lines"),
        ({"store_code": "S001", "lines": [{"sku": "OFF", "quantity": 1}]}, "lines"),
        ({"store_code": "S001", "lines": [{"sku": "HIDDEN", "quantity": 1}]}, "lines"),
        ({"store_code": "S001", "lines": [{"sku": "TEE", "quantity": 0}]}, "lines"),
        ({"store_code": "S001", "lines": [{"sku": "TEE", "quantity": 100}]}, "lines"),
        (
            {"store_code": "S001", "lines": [{"sku": f"X{n}", "quantity": 1} for n in range(51)]},
            "lines",
        ),
        (
            {"store_code": "S001", "lines": [{"sku": "TEE", "quantity": 1}] * 2},
            "lines",
        ),
        ({"store_code": "NOPE", "lines": [{"sku": "TEE", "quantity": 1}]}, "store_code"),
        ({"lines": [{"sku": "TEE", "quantity": 1}]}, "store_code"),
    ],
)
def test_an_invalid_cart_is_refused_and_changes_nothing(
    gold_api, gold_member, catalogue, store, body, field
):
    SkuFactory(sku="OFF", name="停售", active=False)
    Shelf.objects.create(
        store=store, product=SkuFactory(sku="HIDDEN", name="本店不卖").product, shown=False
    )
    _put(gold_api, [{"sku": "SHOE", "quantity": 1}])

    response = gold_api.put("/api/v1/me/cart", body, format="json", HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert list(response.json()["fields"]) == [field]
    assert _cart_of(gold_member) == [("SHOE", 1)]


def test_refusals_name_the_sku_in_the_callers_language(gold_api, catalogue, store):
    response = _put(gold_api, [{"sku": "NOPE", "quantity": 1}])

    assert response.json()["fields"] == {"lines": ["NOPE 不在本店销售。"]}
    response = _put(gold_api, [{"sku": "NOPE", "quantity": 1}], HTTP_ACCEPT_LANGUAGE="en")
    assert response.json()["fields"] == {"lines": ["NOPE is not on sale in this store."]}


def test_an_out_of_stock_line_stays_marked_and_out_of_the_quote(gold_api, catalogue, store):
    Stock.objects.filter(sku__sku="SHOE").update(on_hand=0)

    body = _put(gold_api, [{"sku": "TEE", "quantity": 1}, {"sku": "SHOE", "quantity": 1}]).json()

    assert [(line["sku"], line["stock_state"]) for line in body["lines"]] == [
        ("TEE", "in_stock"),
        ("SHOE", "out_of_stock"),
    ]
    assert body["quote"]["subtotal"] == "100.00"


def test_a_line_gone_off_sale_since_is_marked_and_out_of_the_quote(gold_api, catalogue, store):
    _put(gold_api, [{"sku": "TEE", "quantity": 1}, {"sku": "SHOE", "quantity": 1}])
    Product.objects.filter(skus__sku="SHOE").update(active=False)
    Sku.objects.filter(sku="TEE").update(active=False)

    body = gold_api.get("/api/v1/me/cart").json()

    assert [(line["sku"], line["on_sale"]) for line in body["lines"]] == [
        ("TEE", False),
        ("SHOE", False),
    ]
    assert body["quote"] is None


def test_the_cart_is_the_members_own(api_client, catalogue, store):
    assert APIClient().get("/api/v1/me/cart").status_code == 401
    assert _put(APIClient(), [{"sku": "TEE", "quantity": 1}]).status_code == 401
    assert Cart.objects.count() == 0


def test_a_cart_takes_as_many_queries_for_one_line_as_for_twenty(
    gold_api, store, tiers, django_assert_max_num_queries
):
    for n in range(20):
        sku = SkuFactory(sku=f"P{n}", name=f"商品{n}", price=Decimal(10 + n))
        Stock.objects.create(sku=sku, store=store, on_hand=10)
    counts = []
    for size in (1, 20):
        _put(gold_api, [{"sku": f"P{n}", "quantity": 1} for n in range(size)])
        with django_assert_max_num_queries(30) as queries:
            gold_api.get("/api/v1/me/cart")
        counts.append(len(queries))

    assert counts[0] == counts[1]


@pytest.mark.django_db(transaction=True)
def test_concurrent_replacements_leave_one_of_them_whole(gold_member, catalogue, store):
    token = member_token_issue(member=gold_member)
    quantities = itertools.count(1)

    def replace():
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        quantity = next(quantities)
        lines = [{"sku": "TEE", "quantity": quantity}, {"sku": "SHOE", "quantity": quantity}]
        return _put(client, lines).status_code

    assert run_together(replace, 8) == [200] * 8
    assert Cart.objects.count() == 1
    kept = _cart_of(gold_member)
    assert [sku for sku, _quantity in kept] == ["TEE", "SHOE"]
    assert kept[0][1] == kept[1][1]


def test_the_cart_is_in_the_members_export_and_goes_with_their_account(
    gold_api, gold_member, catalogue, store, django_capture_on_commit_callbacks
):
    _put(gold_api, [{"sku": "TEE", "quantity": 2}])

    exported = gold_api.get("/api/v1/me/export").json()["cart"]

    assert (exported["store"], exported["lines"]) == (
        "杭州文三路店",
        [{"sku": "TEE", "quantity": 2}],
    )
    with django_capture_on_commit_callbacks(execute=True):
        member_delete(member=gold_member)
    assert Cart.objects.count() == 0

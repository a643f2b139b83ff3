"""The catalogue in the HQ console: two-level categories, products with their SKUs and
picture, tier prices, and stock counted without racing a reservation."""

import io
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from PIL import Image

from apps.core.models import AuditEntry
from apps.mall.errors import OutOfStock, StockBelowReserved
from apps.mall.models import Category, Product, Sku, Stock, TierPrice
from apps.mall.stock import stock_count, stock_reserve
from apps.tiers.models import Tier
from tests.conftest import run_together
from tests.core.factories import UserFactory
from tests.mall.factories import SkuFactory, category_of
from tests.stores.factories import StoreFactory

pytestmark = pytest.mark.django_db

NO_SKUS = {"skus-TOTAL_FORMS": 0, "skus-INITIAL_FORMS": 0}


def product_form(**fields) -> dict:
    return {
        "title": "云朵T恤",
        "category": category_of("上衣/T恤").pk,
        "description": "",
        "position": 0,
        "active": "on",
        "everywhere": "on",
        **NO_SKUS,
        **fields,
    }


def sku_rows(*rows) -> dict:
    data = {"skus-TOTAL_FORMS": len(rows), "skus-INITIAL_FORMS": 0}
    for index, row in enumerate(rows):
        data.update({f"skus-{index}-{name}": value for name, value in row.items()})
    return data


def errors(response) -> str:
    return str(response.context["adminform"].form.errors) + str(
        [inline.formset.errors for inline in response.context["inline_admin_formsets"]]
    )


def test_categories_have_two_levels(hq_client):
    tee = category_of("上衣/T恤")
    top = tee.parent

    third = hq_client.post(
        "/admin/mall/category/add/", {"name": "短袖", "parent": tee.pk, "position": 0}
    )
    under_itself = hq_client.post(
        f"/admin/mall/category/{top.pk}/change/", {"name": "上衣", "parent": top.pk, "position": 0}
    )
    parent_with_children = hq_client.post(
        f"/admin/mall/category/{top.pk}/change/",
        {"name": "上衣", "parent": category_of("裤装").pk, "position": 0},
    )
    second = hq_client.post(
        "/admin/mall/category/add/", {"name": "衬衫", "parent": top.pk, "position": 0}
    )

    assert third.status_code == 200  # the form again, with its error
    assert "parent" in third.context["adminform"].form.errors
    assert under_itself.status_code == 200 and parent_with_children.status_code == 200
    assert second.status_code == 302
    assert Category.objects.get(name="衬衫").parent == top
    assert not Category.objects.filter(name="短袖").exists()
    choices = hq_client.get("/admin/mall/category/add/").context["adminform"].form
    assert tee not in choices.fields["parent"].queryset


def test_a_product_with_its_skus_and_specifications(hq_client):
    response = hq_client.post(
        "/admin/mall/product/add/",
        product_form(
            **sku_rows(
                {"sku": "TEE-W-M", "specs": '{"颜色": " 白 ", "尺码": "M"}', "price": "99"},
                {"sku": "TEE-W-L", "specs": '{"颜色": "白", "尺码": "L"}', "price": "99"},
            )
        ),
    )

    assert response.status_code == 302
    product = Product.objects.get(title="云朵T恤")
    assert [(sku.sku, sku.specs) for sku in product.skus.order_by("sku")] == [
        ("TEE-W-L", {"颜色": "白", "尺码": "L"}),
        ("TEE-W-M", {"颜色": "白", "尺码": "M"}),
    ]
    assert AuditEntry.objects.filter(action="create", target_id=str(product.pk)).exists()


@pytest.mark.parametrize(
    "specs", ['["白", "M"]', '{"颜色": 1}', '{"颜色": ""}', '{"": "白"}', '"白"', "{not json"]
)
def test_specifications_are_names_with_text_values(hq_client, specs):
    response = hq_client.post(
        "/admin/mall/product/add/",
        product_form(**sku_rows({"sku": "TEE-1", "specs": specs, "price": "99"})),
    )

    assert response.status_code == 200
    assert "specs" in errors(response)
    assert not Sku.objects.filter(sku="TEE-1").exists()


def test_a_product_sold_in_some_stores_names_them(hq_client):
    store = StoreFactory()

    none_named = hq_client.post("/admin/mall/product/add/", product_form(everywhere=""))
    named = hq_client.post(
        "/admin/mall/product/add/", product_form(everywhere="", stores=[store.pk])
    )

    assert none_named.status_code == 200 and "stores" in errors(none_named)
    assert named.status_code == 302
    assert list(Product.objects.get().stores.all()) == [store]


def test_the_sale_window_is_ordered(hq_client):
    response = hq_client.post(
        "/admin/mall/product/add/",
        product_form(
            on_sale_from_0="2026-12-10",
            on_sale_from_1="10:00:00",
            on_sale_until_0="2026-12-01",
            on_sale_until_1="10:00:00",
        ),
    )

    assert response.status_code == 200
    assert not Product.objects.exists()


def jpeg(size=(900, 600)) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", size, "navy").save(buffer, format="JPEG")
    return SimpleUploadedFile("IMG_1.jpg", buffer.getvalue(), content_type="image/jpeg")


def test_an_uploaded_picture_gets_its_thumbnail_once(hq_client):
    hq_client.post("/admin/mall/product/add/", product_form(image=jpeg()))
    product = Product.objects.get()
    thumbnail = product.thumbnail.name

    hq_client.post(f"/admin/mall/product/{product.pk}/change/", product_form(title="云朵T恤 新款"))

    product.refresh_from_db()
    assert product.image.name.startswith("products/") and "IMG_1" not in product.image.name
    assert thumbnail.startswith("products/thumbs/") and product.thumbnail.name == thumbnail
    assert "<img" in hq_client.get("/admin/mall/product/").content.decode()
    entry = AuditEntry.objects.get(action="create", target_id=str(product.pk))
    assert entry.after["image"] == product.image.name


def test_a_file_that_is_not_a_picture_is_refused(hq_client):
    response = hq_client.post(
        "/admin/mall/product/add/",
        product_form(image=SimpleUploadedFile("p.jpg", b"<script>", content_type="image/jpeg")),
    )

    assert response.status_code == 200 and "image" in errors(response)
    assert not Product.objects.exists()


def test_tier_prices_on_the_skus_page_no_higher_than_its_price(hq_client):
    sku = SkuFactory(sku="TEE", price=Decimal("99.00"))
    gold = Tier.objects.create(code="gold", name="黄金会员", rank=2, growth_threshold=2000)

    def save(price):
        return hq_client.post(
            f"/admin/mall/sku/{sku.pk}/change/",
            {
                "product": sku.product.pk,
                "sku": "TEE",
                "specs": "{}",
                "price": "99.00",
                "active": "on",
                "tier_prices-TOTAL_FORMS": 1,
                "tier_prices-INITIAL_FORMS": 0,
                "tier_prices-0-tier": gold.pk,
                "tier_prices-0-price": price,
            },
        )

    assert save("120.00").status_code == 200
    assert not TierPrice.objects.exists()
    assert save("79.00").status_code == 302
    assert TierPrice.objects.get().price == Decimal("79.00")


def stock_of(sku="TEE", *, store=None, on_hand=10, reserved=0) -> Stock:
    stock = Stock.objects.create(
        sku=Sku.objects.filter(sku=sku).first() or SkuFactory(sku=sku), store=store, on_hand=on_hand
    )
    if reserved:
        stock_reserve(order_id=1, store=store, items=[(sku, reserved)])
        stock.refresh_from_db()
    return stock


def test_counting_stock_is_audited_and_never_below_what_is_reserved(hq_client, hq_user):
    stock = stock_of(on_hand=10, reserved=4)

    below = hq_client.post(f"/admin/mall/stock/{stock.pk}/change/", {"on_hand": 3})
    counted = hq_client.post(f"/admin/mall/stock/{stock.pk}/change/", {"on_hand": 4})

    assert below.status_code == 200
    assert "on_hand" in below.context["adminform"].form.errors
    assert counted.status_code == 302
    stock.refresh_from_db()
    assert (stock.on_hand, stock.reserved) == (4, 4)
    entry = AuditEntry.objects.get(action="stock.count")
    assert (entry.actor, entry.before, entry.after) == (hq_user, {"on_hand": 10}, {"on_hand": 4})
    assert not AuditEntry.objects.filter(action="change").exists()


def test_the_count_checks_again_under_the_rows_lock():
    stock = stock_of(on_hand=10, reserved=4)

    with pytest.raises(StockBelowReserved), transaction.atomic():
        stock_count(stock_id=stock.pk, on_hand=3, actor=UserFactory())
    stock_count(stock_id=stock.pk, on_hand=4, actor=UserFactory())
    stock_count(stock_id=stock.pk, on_hand=4, actor=UserFactory())  # the same: nothing

    assert AuditEntry.objects.filter(action="stock.count").count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_count_and_a_reservation_at_once_never_both_win():
    stock = stock_of(on_hand=5)
    turns = iter(["count", "reserve"])

    def one():
        if next(turns) == "count":
            try:
                stock_count(stock_id=stock.pk, on_hand=2, actor=None)
            except StockBelowReserved:
                return "refused"
        else:
            try:
                stock_reserve(order_id=7, store=None, items=[("TEE", 5)])
            except OutOfStock:
                return "refused"
        return "done"

    outcomes = run_together(one, 2)

    stock.refresh_from_db()
    assert sorted(outcomes) == ["done", "refused"]
    assert (stock.on_hand, stock.reserved) in [(2, 0), (5, 5)]


def test_the_stock_list_by_location_and_what_is_left(hq_client):
    store = StoreFactory(code="S100")
    stock_of("A", on_hand=50)
    stock_of("A", store=store, on_hand=3)
    stock_of("B", store=store, on_hand=6, reserved=6)

    def listed(query):
        page = hq_client.get(f"/admin/mall/stock/?{query}")
        assert page.status_code == 200
        return sorted((s.sku.sku, s.store_id is not None) for s in page.context["cl"].result_list)

    assert listed("location=hq") == [("A", False)]
    assert listed("location=S100") == [("A", True), ("B", True)]
    assert listed("left=low") == [("A", True), ("B", True)]
    assert listed("left=none") == [("B", True)]

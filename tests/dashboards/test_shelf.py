"""The store's own mall in its dashboard: the owner or manager shows, hides and pins the
products HQ lets the store sell; nobody else changes it."""

import pytest

from apps.core.models import AuditEntry
from apps.mall.models import Shelf
from apps.stores.models import Staff, Store
from tests.distributors.factories import DistributorFactory
from tests.mall.factories import ProductFactory, SkuFactory
from tests.stores.factories import StaffFactory, StoreFactory

pytestmark = pytest.mark.django_db


def on_sale(title, **fields):
    product = ProductFactory(title=title, **fields)
    SkuFactory(product=product)
    return product


@pytest.fixture
def shop():
    dealer = DistributorFactory()
    store = StoreFactory(code="S100", distributor=dealer, kind=Store.Kind.FRANCHISE)
    other = StoreFactory(code="S200", distributor=DistributorFactory())
    tee = on_sale("云朵T恤", position=1)
    bag = on_sale("帆布包", position=2)
    elsewhere = on_sale("只在别店", everywhere=False, position=3)
    elsewhere.stores.set([other])
    return {
        "store": store,
        "other": other,
        "dealer": dealer,
        "tee": tee,
        "bag": bag,
        "elsewhere": elsewhere,
    }


def signed_in(client, **staff):
    client.force_login(StaffFactory(**staff).user)
    return client


def change(client, product, **form):
    return client.post(f"/dashboard/stores/S100/mall/{product.pk}/", form)


def test_the_owner_sees_what_hq_lets_the_store_sell(client, shop):
    owner = signed_in(client, store=shop["store"])

    page = owner.get("/dashboard/stores/S100/mall/")

    assert page.status_code == 200
    assert [p.title for p in page.context["page"]] == ["云朵T恤", "帆布包"]
    body = page.content.decode()
    assert "只在别店" not in body
    assert 'href="/dashboard/stores/S100/mall/"' in body  # in the store's navigation
    assert page.context["can_change"]


def test_the_owner_hides_one_and_pins_another_audited(client, shop):
    owner = signed_in(client, store=shop["store"])

    hidden = change(owner, shop["tee"], q="T恤", page="1")
    pinned = change(owner, shop["bag"], shown="on", pinned="on")

    assert hidden.status_code == 302 and hidden.url.endswith("/mall/?q=T%E6%81%A4&page=1")
    assert pinned.url.endswith("/mall/")
    rows = {s.product_id: (s.shown, s.pinned) for s in Shelf.objects.filter(store=shop["store"])}
    assert rows == {shop["tee"].pk: (False, False), shop["bag"].pk: (True, True)}
    page = owner.get("/dashboard/stores/S100/mall/")
    assert [(p.title, p.shown, p.pinned) for p in page.context["page"]] == [
        ("帆布包", True, True),
        ("云朵T恤", False, False),
    ]
    entry = AuditEntry.objects.get(
        action="shelf.set", target_id=str(Shelf.objects.get(product=shop["tee"]).pk)
    )
    assert (entry.before, entry.after) == (
        {"shown": True, "pinned": False},
        {"shown": False, "pinned": False},
    )


def test_a_hidden_product_is_not_pinned_and_saving_the_same_writes_nothing(client, shop):
    manager = signed_in(client, store=shop["store"], role=Staff.Role.MANAGER)

    change(manager, shop["tee"], pinned="on")
    change(manager, shop["bag"], shown="on")

    assert Shelf.objects.get(product=shop["tee"]).pinned is False
    assert not Shelf.objects.filter(product=shop["bag"]).exists()
    assert AuditEntry.objects.filter(action="shelf.set").count() == 1


def test_the_dealer_of_the_store_may_change_it(client, shop):
    dealer = signed_in(client, store=None, distributor=shop["dealer"])

    assert change(dealer, shop["tee"]).status_code == 302


def test_search_by_title_and_pages(client, shop):
    for n in range(25):
        on_sale(f"运动鞋 {n:02d}", position=10 + n)
    owner = signed_in(client, store=shop["store"])

    found = owner.get("/dashboard/stores/S100/mall/", {"q": "运动鞋"})
    second = owner.get("/dashboard/stores/S100/mall/", {"q": "运动鞋", "page": 2})

    assert found.context["page"].paginator.count == 25
    assert len(found.context["page"]) == 20 and len(second.context["page"]) == 5
    assert "page=2" in found.content.decode() and "q=%E8%BF%90" in found.content.decode()


def test_a_product_the_store_may_not_sell_cannot_be_shelved(client, shop):
    owner = signed_in(client, store=shop["store"])

    assert change(owner, shop["elsewhere"], shown="on", pinned="on").status_code == 404
    assert not Shelf.objects.exists()


def test_a_clerk_reads_the_page_and_changes_nothing(client, shop):
    clerk = signed_in(client, store=shop["store"], role=Staff.Role.CLERK)

    page = clerk.get("/dashboard/stores/S100/mall/")
    refused = change(clerk, shop["tee"])

    assert page.status_code == 200 and not page.context["can_change"]
    assert f'action="/dashboard/stores/S100/mall/{shop["tee"].pk}/"' not in page.content.decode()
    assert refused.status_code == 403
    assert not Shelf.objects.exists()


@pytest.mark.parametrize("who", ["owner of another store", "dealer of another store"])
def test_nobody_outside_the_store_sees_or_changes_it(client, shop, who):
    if who == "owner of another store":
        outsider = signed_in(client, store=shop["other"])
    else:
        outsider = signed_in(client, store=None, distributor=shop["other"].distributor)

    assert outsider.get("/dashboard/stores/S100/mall/").status_code == 404
    assert change(outsider, shop["tee"]).status_code == 404
    assert not Shelf.objects.exists()


def test_a_closed_store_shelf_is_read_only(client, shop):
    shop["store"].status = Store.Status.CLOSED
    shop["store"].save()
    owner = signed_in(client, store=shop["store"])

    assert not owner.get("/dashboard/stores/S100/mall/").context["can_change"]
    assert change(owner, shop["tee"]).status_code == 403
    assert not Shelf.objects.exists()

"""The store dashboard: its own login, each person sees only their stores, the overview's
figures come from the rollups in a fixed number of queries."""

from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone

from apps.analytics.services import rollup_day
from apps.core import roles
from apps.members.models import StoreVisit
from apps.orders.checkout import Checkout, order_place_paid
from apps.orders.pricing import LineInput
from apps.tiers.models import Tier
from tests.core.factories import UserFactory
from tests.distributors.factories import DistributorFactory
from tests.members.factories import MemberFactory
from tests.stores.factories import StaffFactory, StoreFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def stores():
    dealer = DistributorFactory()
    return {
        "S001": StoreFactory(code="S001", name="上海恒隆店"),
        "S002": StoreFactory(code="S002", name="杭州文三路店", distributor=dealer),
        "S003": StoreFactory(code="S003", name="杭州湖滨店", distributor=dealer),
        "dealer": dealer,
    }


def person(client, **staff):
    user = UserFactory()
    StaffFactory(user=user, **staff)
    client.force_login(user)
    return client


def sell(store, member, amount, n):
    order_place_paid(
        checkout=Checkout(
            store=store,
            channel="pos",
            member=member,
            lines=[LineInput(sku="X", quantity=1, unit_price=Decimal(amount))],
        ),
        external_id=f"D-{store.pk}-{n}",
    )


def test_the_login_page_is_chinese_and_signs_a_shop_owner_in(client, stores):
    user = UserFactory(username="owner_S001")
    user.set_password("demo12345")
    user.save()
    StaffFactory(user=user, store=stores["S001"])

    page = client.get("/dashboard/login/").content.decode()
    signed_in = client.post(
        "/dashboard/login/", {"username": "owner_S001", "password": "demo12345"}, follow=True
    )

    assert "门店工作台" in page and "用户名" in page
    assert signed_in.redirect_chain[-1][0] == "/dashboard/stores/S001/"
    assert "上海恒隆店" in signed_in.content.decode()


def test_strangers_are_sent_to_the_login(client, stores):
    response = client.get("/dashboard/stores/S001/")

    assert response.status_code == 302 and response["Location"].startswith("/dashboard/login/")


def test_an_owner_sees_their_store_and_another_store_answers_404(client, stores):
    owner = person(client, store=stores["S002"])

    assert owner.get("/dashboard/stores/S002/").status_code == 200
    assert owner.get("/dashboard/stores/S001/").status_code == 404
    assert owner.get("/dashboard/stores/NOPE/").status_code == 404


def test_a_dealer_compares_its_stores_only(client, stores):
    dealer = person(client, store=None, distributor=stores["dealer"])
    rollup_store = stores["S003"]
    sell(rollup_store, None, "880.00", 1)
    rollup_day(timezone.localdate())

    home = dealer.get("/dashboard/", follow=True)
    page = home.content.decode()

    assert home.redirect_chain[-1][0] == "/dashboard/stores/"
    assert "杭州文三路店" in page and "杭州湖滨店" in page and "上海恒隆店" not in page
    rows = [(s.code, s.sales_30, s.orders_30) for s in home.context["page"]]
    assert rows == [("S003", Decimal("880.00"), 1), ("S002", Decimal("0"), 0)]
    assert "全部门店" in dealer.get("/dashboard/stores/S003/").content.decode()
    assert dealer.get("/dashboard/stores/S001/").status_code == 404


def hq_person(role=roles.MARKETING):
    user = UserFactory(is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    return user


def test_is_staff_alone_opens_no_store(client, stores):
    client.force_login(UserFactory(is_staff=True))

    assert client.get("/dashboard/").status_code == 403  # "no store yet"
    assert len(client.get("/dashboard/stores/").context["page"]) == 0
    assert client.get("/dashboard/stores/S003/").status_code == 404


def test_hq_staff_see_every_store(client, stores):
    client.force_login(hq_person())

    assert client.get("/dashboard/").url == "/dashboard/stores/"
    assert len(client.get("/dashboard/stores/").context["page"]) == 3
    assert client.get("/dashboard/stores/S003/").status_code == 200


def test_the_overview_shows_the_days_figures(client, stores):
    store = stores["S001"]
    Tier.objects.create(code="normal", name="普通会员", rank=0, growth_threshold=0)
    Tier.objects.create(code="gold", name="黄金会员", rank=1, growth_threshold=500)
    regular, newcomer = MemberFactory(home_store=store), MemberFactory(home_store=store)
    StoreVisit.objects.create(member=regular, store=store)
    sell(store, regular, "300.00", 1)
    sell(store, regular, "200.00", 2)
    sell(store, None, "100.00", 3)
    rollup_day(timezone.localdate())
    owner = person(client, store=store)

    figures = owner.get("/dashboard/stores/S001/").context["figures"]

    assert figures["members"]["total"] == 2 and figures["new"]["today"] == 2
    assert figures["last_30"]["sales"] == Decimal("600.00")
    assert figures["member_share"] == Decimal("83.3")
    assert (figures["aov_members"], figures["aov_others"]) == (Decimal("250.00"), Decimal("100.00"))
    assert figures["repurchase"] == Decimal("100.0")
    assert [(t["name"], t["count"]) for t in figures["tiers"]] == [("普通会员", 1), ("黄金会员", 1)]
    assert figures["trend"][-1]["sales"] == Decimal("600.00") and len(figures["trend"]) == 30
    assert len(owner.get("/dashboard/stores/S001/?days=90").context["figures"]["trend"]) == 90
    assert newcomer.home_store == store


def test_the_overview_costs_the_same_queries_for_a_busy_store(client, stores):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    store = stores["S001"]
    owner = person(client, store=store)

    def queries(orders):
        for n in range(orders):
            sell(store, MemberFactory(home_store=store), "10.00", f"{orders}-{n}")
        rollup_day(timezone.localdate())
        with CaptureQueriesContext(connection) as captured:
            assert owner.get("/dashboard/stores/S001/").status_code == 200
        return len(captured)

    assert queries(2) == queries(20)


def test_comparing_stores_costs_the_same_queries_for_more_stores(
    client, stores, django_assert_max_num_queries
):
    client.force_login(hq_person())
    for n in range(30):
        StoreFactory(code=f"X{n:03d}")

    with django_assert_max_num_queries(6):
        page = client.get("/dashboard/stores/")

    assert len(page.context["page"]) == 33


def test_the_store_poster_downloads_as_a_png(client, stores):
    owner = person(client, store=stores["S001"])

    poster = owner.get("/dashboard/stores/S001/poster.png")

    assert poster.status_code == 200 and poster["Content-Type"] == "image/png"
    assert poster.content.startswith(b"\x89PNG")
    assert owner.get("/dashboard/stores/S002/poster.png").status_code == 404


def test_the_store_pay_poster_downloads_as_a_png(client, stores):
    owner = person(client, store=stores["S001"])

    poster = owner.get("/dashboard/stores/S001/pay-poster.png")

    assert poster.status_code == 200 and poster["Content-Type"] == "image/png"
    assert 'filename="S001-pay-poster.png"' in poster["Content-Disposition"]
    assert owner.get("/dashboard/stores/S002/pay-poster.png").status_code == 404

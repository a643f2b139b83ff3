"""Distribution for stores, dealers and HQ: guides earn as promoters of their store, store
owners decide applications for their store, the store's promoters and guides page, the
guides' leaderboard's commissions, the distribution report (console and dealer, with
CSV), and the guides' commissions in the settlement statement."""

import csv
import io
import itertools
from datetime import timedelta
from decimal import Decimal as D

import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone
from django.utils.translation import gettext

from apps.core.models import AuditEntry
from apps.orders.checkout import Checkout, order_place_paid
from apps.orders.models import Order
from apps.orders.pricing import LineInput
from apps.orders.refunds import RefundLineInput, order_refund
from apps.orders.settlement import online_statement, online_statement_csv
from apps.referrals.commissions import (
    commissions_release_due,
    commissions_reverse,
    commissions_write,
)
from apps.referrals.models import Commission, Promoter
from apps.referrals.reports import distribution_by_dealer, distribution_by_store
from apps.referrals.withdrawals import withdrawal_approve, withdrawal_request
from apps.stores.models import Store
from tests.core.factories import UserFactory
from tests.distributors.factories import DistributorFactory
from tests.members.factories import MemberFactory
from tests.referrals.factories import customer_of, default_rate, promoter_of, sale
from tests.stores.factories import StaffFactory, StoreFactory

pytestmark = pytest.mark.django_db
_sales = itertools.count()


def earn(order):
    """The order's commissions, as its order_paid event writes them."""
    commissions_write(order_id=order.pk)
    return order


def refund(order, refund_id):
    """A full refund, and what its order_refunded event takes back."""
    made = order_refund(order=order, refund_id=refund_id, lines=[RefundLineInput("TEE", 1)])
    commissions_reverse(refund_id=made.pk)


def guide_sale(store, guide, amount="100", member=None, channel="pos"):
    return earn(
        order_place_paid(
            checkout=Checkout(
                store=store,
                channel=channel,
                member=member,
                guide=guide,
                lines=[LineInput(sku="TEE", quantity=1, unit_price=D(amount))],
            ),
            external_id=f"GS-{next(_sales)}",
        )
    )


@pytest.fixture
def shop():
    dealer = DistributorFactory()
    store = StoreFactory(code="S001", distributor=dealer, kind=Store.Kind.FRANCHISE)
    other = StoreFactory(code="S002")
    default_rate(10, 5)
    return {
        "dealer": dealer,
        "store": store,
        "other": other,
        "guide": StaffFactory(store=store, role="guide"),
        "clerk": StaffFactory(store=store, role="clerk"),
        "owner": StaffFactory(store=store, role="owner"),
        "manager": StaffFactory(store=store, role="manager"),
        "other_owner": StaffFactory(store=other, role="owner"),
        "dealer_owner": StaffFactory(store=None, distributor=dealer, role="owner"),
    }


def login(client, staff):
    client.force_login(staff.user)
    return client


# Guides are promoters of their store by role


def test_a_guides_sale_earns_them_level_1_as_their_stores_promoter(shop):
    order = guide_sale(shop["store"], shop["guide"], "200")
    commission = Commission.objects.get(order=order)
    assert (commission.level, commission.amount) == (1, D("20.00"))
    assert commission.promoter.guide == shop["guide"]
    assert commission.promoter.store == shop["store"]
    assert commission.promoter.status == Promoter.Status.APPROVED


def test_a_bound_promoter_takes_precedence_and_a_clerk_earns_nothing(shop, settings):
    promoter = promoter_of()
    order = guide_sale(shop["store"], shop["guide"], member=customer_of(promoter))
    assert list(order.commissions.values_list("promoter", flat=True)) == [promoter.pk]
    assert not guide_sale(shop["store"], shop["clerk"]).commissions.exists()
    settings.COMMISSION_GUIDES = False
    assert not guide_sale(shop["store"], shop["guide"]).commissions.exists()


def test_a_suspended_guide_earns_nothing(shop):
    guide_sale(shop["store"], shop["guide"])
    Promoter.objects.filter(guide=shop["guide"]).update(status=Promoter.Status.SUSPENDED)
    assert not guide_sale(shop["store"], shop["guide"]).commissions.exists()


def test_the_leaderboard_shows_each_guides_commissions(client, shop):
    guide_sale(shop["store"], shop["guide"], "300")
    guide_sale(shop["store"], shop["clerk"], "50")
    rows = login(client, shop["owner"]).get("/dashboard/stores/S001/guides/").context["rows"]
    by_staff = {row["staff"]: row["commissions"] for row in rows}
    assert by_staff[shop["guide"]] == D("30.00") and by_staff[shop["clerk"]] == D("0")


# Store owners decide the applications made for their store


@pytest.fixture
def application(shop):
    return Promoter.objects.create(
        member=MemberFactory(), store=shop["store"], status=Promoter.Status.APPLIED
    )


def test_the_owner_sees_and_approves_their_stores_application(client, shop, application):
    owner = login(client, shop["owner"])
    page = owner.get("/dashboard/stores/S001/promoters/")
    assert list(page.context["applications"]) == [application]
    owner.post(
        f"/dashboard/stores/S001/promoters/{application.pk}/decide/", {"decision": "approve"}
    )
    application.refresh_from_db()
    assert (application.status, application.decided_by) == ("approved", shop["owner"].user)
    assert AuditEntry.objects.filter(action="promoter.approve").count() == 1


def test_a_dealers_owner_decides_too(client, shop, application):
    login(client, shop["dealer_owner"]).post(
        f"/dashboard/stores/S001/promoters/{application.pk}/decide/",
        {"decision": "refuse", "reason": "不合适"},
    )
    application.refresh_from_db()
    assert (application.status, application.reason) == ("refused", "不合适")


@pytest.mark.parametrize("who", ["guide", "clerk", "manager"])
def test_a_guide_clerk_or_manager_cannot_decide(client, shop, application, who):
    response = login(client, shop[who]).post(
        f"/dashboard/stores/S001/promoters/{application.pk}/decide/", {"decision": "approve"}
    )
    assert response.status_code == 403
    application.refresh_from_db()
    assert application.status == "applied"


def test_the_manager_sees_the_figures_but_no_applications(client, shop, application):
    page = login(client, shop["manager"]).get("/dashboard/stores/S001/promoters/")
    assert page.status_code == 200 and page.context["applications"] == []


@pytest.mark.parametrize("who", ["guide", "clerk"])
def test_a_guide_or_clerk_cannot_see_the_page(client, shop, who):
    assert login(client, shop[who]).get("/dashboard/stores/S001/promoters/").status_code == 403


def test_another_stores_owner_sees_nothing_and_decides_nothing(client, shop, application):
    other = login(client, shop["other_owner"])
    assert other.get("/dashboard/stores/S001/promoters/").status_code == 404
    response = other.post(
        f"/dashboard/stores/S001/promoters/{application.pk}/decide/", {"decision": "approve"}
    )
    assert response.status_code == 404
    # nor through their own store's address
    response = other.post(
        f"/dashboard/stores/S002/promoters/{application.pk}/decide/", {"decision": "approve"}
    )
    assert response.status_code == 404
    application.refresh_from_db()
    assert application.status == "applied"
    assert other.get("/dashboard/stores/S002/promoters/").context["applications"] == []


# What the store's promoters and guides brought


def test_the_page_shows_what_each_promoter_and_guide_brought(
    client, shop, django_assert_max_num_queries
):
    promoter = promoter_of()
    Promoter.objects.filter(pk=promoter.pk).update(store=shop["store"])
    for _n in range(2):
        earn(sale(shop["other"], customer_of(promoter), [("TEE", 1, "100")]))
    MemberFactory(home_store=shop["store"], guide=shop["guide"])
    guide_sale(shop["store"], shop["guide"], "300")
    owner = login(client, shop["owner"])
    owner.get("/dashboard/stores/S001/promoters/")
    with django_assert_max_num_queries(20):
        rows = owner.get("/dashboard/stores/S001/promoters/").context["rows"]
    figures = {row["name"]: row for row in rows}
    guide = figures[shop["guide"].user.display_name]
    assert (guide["members"], guide["orders"], guide["sales"], guide["commissions"]) == (
        1,
        1,
        D("300.00"),
        D("30.00"),
    )
    member = figures[str(promoter.member)]
    assert (member["members"], member["orders"], member["sales"], member["commissions"]) == (
        2,
        2,
        D("200.00"),
        D("20.00"),
    )
    # more promoters, the same queries
    for _n in range(5):
        more = promoter_of()
        Promoter.objects.filter(pk=more.pk).update(store=shop["store"])
        earn(sale(shop["other"], customer_of(more)))
        StaffFactory(store=shop["store"], role="guide")
    with django_assert_max_num_queries(20):
        assert len(owner.get("/dashboard/stores/S001/promoters/").context["rows"]) == 12


# The distribution report


@pytest.fixture
def books(shop):
    """S001: a member promoter with one sale paid out, one available, one frozen and a
    refund leaving a debt; a guide with a sale."""
    promoter = promoter_of()
    Promoter.objects.filter(pk=promoter.pk).update(store=shop["store"])
    customer = customer_of(promoter)
    first = earn(sale(shop["other"], customer, [("TEE", 1, "1000")]))
    commissions_release_due(now=first.paid_at + timedelta(days=30))
    withdrawal = withdrawal_request(promoter=promoter, amount=D("100.00"), key="w")
    withdrawal_approve(withdrawal=withdrawal, actor=UserFactory())
    refund(first, "R1")
    earn(sale(shop["other"], customer, [("TEE", 1, "500")]))
    guide_sale(shop["store"], shop["guide"], "200")
    return promoter


def test_the_report_per_store_and_dealer(shop, books, django_assert_max_num_queries):
    with django_assert_max_num_queries(7):
        rows = distribution_by_store(Store.objects.all())
        dealers = distribution_by_dealer(rows)
    (row,) = rows
    assert row.store == shop["store"] and row.dealer == str(shop["dealer"])
    assert (row.promoters, row.members, row.orders) == (2, 1, 3)
    assert row.sales == D("1700.00")
    # 100 paid, the 1000 order refunded: 100 owed; 50 + 20 frozen, which pay it first
    assert (row.frozen, row.available, row.paid, row.debt) == (
        D("70.00"),
        D("0.00"),
        D("100.00"),
        D("100.00"),
    )
    assert dealers[0].dealer == str(shop["dealer"]) and dealers[0].stores == {"S001"}


def test_hq_downloads_the_report_as_csv_and_others_are_refused(client, shop, books):
    hq = UserFactory(is_staff=True)
    client.force_login(hq)
    assert client.get("/admin/referrals/promoter/distribution/").status_code == 403
    hq.user_permissions.add(Permission.objects.get(codename="view_promoter"))
    page = client.get("/admin/referrals/promoter/distribution/")
    assert page.status_code == 200 and len(page.context["rows"]) == 1
    download = client.get("/admin/referrals/promoter/distribution/?format=csv")
    lines = list(csv.reader(io.StringIO(download.content.decode("utf-8-sig"))))
    assert lines[1][:6] == ["S001", shop["store"].name, str(shop["dealer"]), "2", "1", "3"]


def test_a_dealer_sees_its_stores_and_no_one_elses(client, shop, books):
    promoter = promoter_of()
    Promoter.objects.filter(pk=promoter.pk).update(store=shop["other"])
    earn(sale(shop["other"], customer_of(promoter)))
    rows = login(client, shop["dealer_owner"]).get("/dashboard/distribution/").context["rows"]
    assert [row.store.code for row in rows] == ["S001"]
    download = client.get("/dashboard/distribution/?format=csv")
    assert "S002" not in download.content.decode()
    rows = login(client, shop["other_owner"]).get("/dashboard/distribution/").context["rows"]
    assert [row.store.code for row in rows] == ["S002"]


@pytest.mark.parametrize("who", ["guide", "clerk"])
def test_a_guide_or_clerk_gets_no_report(client, shop, books, who):
    assert login(client, shop[who]).get("/dashboard/distribution/").status_code == 403


# The settlement statement


def test_the_statement_has_a_line_for_the_stores_guides_commissions(shop):
    order = guide_sale(shop["store"], shop["guide"], "300")
    guide_sale(shop["store"], shop["guide"], "100", channel="mall")
    refund(order, "R")
    today = timezone.localdate()
    (row,) = online_statement(start=today, end=today)
    assert row.guide_commissions == D("10.00")
    assert row.owed == D("10.00") + sum(line.owed for line in row.categories)
    lines = list(csv.reader(io.StringIO(online_statement_csv([row]).lstrip("\ufeff"))))
    assert lines[-1][4:] == [gettext("guides' commissions"), "", "", "", "", "10.00"]
    assert Order.objects.filter(store=shop["store"]).count() == 2

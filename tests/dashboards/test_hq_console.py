"""The HQ console's front page: the brand today and the work waiting, with links to it."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from apps.analytics.services import rollup_day
from apps.core.models import Event
from apps.coupons.models import IssueBatch
from apps.orders.checkout import Checkout, order_place_paid
from apps.orders.models import OnlineShare
from apps.orders.pricing import LineInput
from apps.points.models import Entry
from apps.points.services import points_earn
from apps.stores.models import Store
from tests.coupons.factories import CouponTemplateFactory
from tests.dashboards.test_overview import sell
from tests.members.factories import MemberFactory
from tests.stores.factories import StoreFactory

pytestmark = pytest.mark.django_db


def test_the_console_opens_on_todays_figures_and_the_work_waiting(hq_client):
    store = StoreFactory(code="S001")
    member = MemberFactory(home_store=store)
    MemberFactory(joined_at=timezone.now() - timedelta(days=3))
    sell(store, member, "150.00", 1)
    sell(store, None, "50.00", 2)
    rollup_day(timezone.localdate())
    drop = CouponTemplateFactory(
        name="双十二闪券", claim_starts_at=timezone.now() - timedelta(hours=1), total_stock=1000
    )
    CouponTemplateFactory(name="明日闪券", claim_starts_at=timezone.now() + timedelta(days=1))
    batch = IssueBatch.objects.create(
        name="沉睡唤醒",
        template=drop,
        phones="13900000000",
        status=IssueBatch.Status.RUNNING,
        targeted=800,
        issued=300,
    )
    Event.objects.create(
        name="order_paid", status="failed", payload={}, next_attempt_at=timezone.now()
    )

    response = hq_client.get("/admin/")
    page = response.content.decode()

    assert "今日新会员" in page
    kpi = response.context["kpi"]
    assert (kpi["members"]["today"], kpi["members"]["total"]) == (1, 2)
    assert kpi["today"]["sales"] == Decimal("200.00") and kpi["today"]["orders"] == 2
    assert [t.name for t in kpi["drops"]] == ["双十二闪券"]
    assert kpi["batches"] == [batch]
    assert kpi["failed"]["events"] == 1
    assert f"/admin/coupons/issuebatch/{batch.pk}/change/" in page
    assert "/admin/core/event/?status__exact=failed" in page


def test_last_months_points_settlement_is_waiting(hq_client):
    store = StoreFactory(code="S001")
    member = MemberFactory(home_store=store)
    points_earn(
        member=member, amount=1000, key="k", cause_kind="admin", description="t", pending=False
    )
    order_place_paid(
        checkout=Checkout(
            store=store,
            channel="pos",
            member=member,
            points=500,
            lines=[LineInput(sku="X", quantity=1, unit_price=Decimal("100.00"))],
        ),
        external_id="P-1",
    )
    before = hq_client.get("/admin/").context["kpi"]["settlement"]
    last_month = timezone.localtime().replace(day=1) - timedelta(days=3)
    Entry.objects.filter(to_account__kind="store").update(created_at=last_month)

    after = hq_client.get("/admin/").context["kpi"]["settlement"]

    assert (before["stores"], before["value"]) == (0, Decimal(0))
    assert (after["stores"], after["value"]) == (1, Decimal("5.00"))
    assert after["end"] == timezone.localdate().replace(day=1) - timedelta(days=1)


def test_last_months_online_settlement_is_waiting(hq_client):
    franchise = StoreFactory(code="F001", kind=Store.Kind.FRANCHISE)
    direct = StoreFactory(code="S001")
    paid = timezone.localtime().replace(day=1) - timedelta(days=3)
    OnlineShare.objects.create(percent=Decimal("12.5"), valid_from=paid.date())
    for n, store in enumerate((franchise, direct)):
        order_place_paid(
            checkout=Checkout(
                store=store,
                channel="mall",
                lines=[LineInput(sku="X", quantity=1, unit_price=Decimal("100.00"))],
            ),
            external_id=f"M-{n}",
            now=paid,
        )

    kpi = hq_client.get("/admin/").context["kpi"]["online_settlement"]

    assert (kpi["stores"], kpi["owed"]) == (1, Decimal("12.50"))


def test_the_console_front_page_links_open(hq_client):
    page = hq_client.get("/admin/").content.decode()

    for link in (
        "/admin/members/member/?joined_at__year=",
        "/admin/points/entry/settlement/",
        "/admin/orders/onlineshare/settlement/",
    ):
        start = page.index(link)
        url = page[start : page.index('"', start)].replace("&amp;", "&")
        assert hq_client.get(url).status_code == 200, url


def test_the_front_page_shows_todays_points_spent_manual_actions_and_store_gifts(hq_client):
    from apps.analytics.models import DailyStoreRollup

    today = timezone.localdate()
    for store, spent in ((StoreFactory(), 300), (StoreFactory(), 200)):
        DailyStoreRollup.objects.create(
            store=store, day=today, points_redeemed=spent, manual_actions=2, coupons_gifted=1
        )
        DailyStoreRollup.objects.create(
            store=store, day=today - timedelta(days=3), points_redeemed=spent, manual_actions=1
        )

    response = hq_client.get("/admin/")

    kpi = response.context["kpi"]
    assert (kpi["today"]["points_redeemed"], kpi["last_30"]["points_redeemed"]) == (500, 1000)
    assert (kpi["today"]["manual_actions"], kpi["last_30"]["manual_actions"]) == (4, 6)
    assert kpi["today"]["coupons_gifted"] == 2
    page = response.content.decode()
    assert "今日消耗积分" in page and "门店赠券 2 张" in page
    assert "没有异常门店。" in page  # the same figures everywhere: nobody stands out

"""Settlement statements: points spent at stores, net of returns, by store and by dealer."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone

from apps.core import roles
from apps.points.services import points_earn, points_redeem, points_reverse
from apps.points.settlement import dealer_totals, settlement_statement
from tests.core.factories import UserFactory
from tests.distributors.factories import DistributorFactory
from tests.members.factories import MemberFactory
from tests.stores.factories import StoreFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def spending():
    dealer = DistributorFactory(code="D01", name="上海优选")
    s1, s2, s3 = (
        StoreFactory(code="S001"),
        StoreFactory(code="S002", distributor=dealer),
        StoreFactory(code="S003", distributor=dealer),
    )
    member = MemberFactory()
    points_earn(
        member=member,
        amount=10000,
        key="seed",
        cause_kind="admin",
        description="得积分",
        pending=False,
    )

    def spend(store, amount, key):
        return points_redeem(
            member=member,
            amount=amount,
            key=key,
            cause_kind="admin",
            description="积分抵现",
            store=store,
        )

    spend(s1, 1000, "a")
    spend(s2, 2550, "b")
    returned = spend(s3, 800, "c")
    spend(s3, 400, "d")
    points_reverse(entry=returned, cause_kind="admin", key="refund-c", description="退货退回积分")
    return {"stores": (s1, s2, s3)}


def test_statement_nets_returns_and_values_points_in_yuan(spending):
    today = timezone.localdate()

    rows = settlement_statement(start=today, end=today)

    assert [(r.store.code, r.received, r.returned, r.net, r.value) for r in rows] == [
        ("S001", 1000, 0, 1000, Decimal("10.00")),
        ("S002", 2550, 0, 2550, Decimal("25.50")),
        ("S003", 1200, 800, 400, Decimal("4.00")),
    ]
    assert dealer_totals(rows) == [
        ("D01 上海优选", 2950, Decimal("29.50")),
        ("总部（直营门店）", 1000, Decimal("10.00")),
    ]


def test_other_periods_are_empty(spending):
    yesterday = timezone.localdate() - timedelta(days=1)

    assert settlement_statement(start=yesterday, end=yesterday) == []


def test_finance_downloads_the_statement(client, spending):
    user = UserFactory(is_staff=True)
    user.groups.add(Group.objects.get(name=roles.FINANCE))
    client.force_login(user)
    today = timezone.localdate().isoformat()

    page = client.get("/admin/points/entry/settlement/", {"start": today, "end": today})
    csv = client.get(
        "/admin/points/entry/settlement/", {"start": today, "end": today, "format": "csv"}
    )

    assert page.status_code == 200 and "上海优选" in page.content.decode()
    lines = csv.content.decode("utf-8-sig").strip().splitlines()
    assert len(lines) == 4 and lines[3].startswith("S003,") and lines[3].endswith(",400,4.00")


def test_marketing_cannot_see_settlements(client):
    user = UserFactory(is_staff=True)
    user.groups.add(Group.objects.get(name=roles.MARKETING))
    client.force_login(user)

    assert client.get("/admin/points/entry/settlement/").status_code == 403

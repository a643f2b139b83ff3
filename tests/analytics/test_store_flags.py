"""HQ's watch on stores: per store and day, points spent, coupons redeemed, manual actions and
store gifts; a store far outside its peers (StoreFlagRule) is flagged, in fixed queries."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.analytics.models import DailyStoreRollup, StoreFlagRule
from apps.analytics.selectors import stores_flagged
from apps.analytics.services import rollup_day
from apps.core import roles
from apps.coupons.issuing import coupon_gift
from apps.points.manual import manual_action_reject, manual_adjust_request, manual_void_request
from apps.points.services import points_earn
from tests.core.factories import UserFactory
from tests.coupons.factories import CouponTemplateFactory
from tests.members.factories import MemberFactory
from tests.stores.factories import StaffFactory, StoreFactory

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()


def person(role):
    user = UserFactory(is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    return user


def days_of(store, figure=None, per_day=0, days=7, first_back=0, **figures):
    if figure:
        figures[figure] = per_day
    DailyStoreRollup.objects.bulk_create(
        DailyStoreRollup(store=store, day=TODAY - timedelta(days=n), **figures)
        for n in range(first_back, first_back + days)
    )


def only(figure, **rule):
    StoreFlagRule.objects.exclude(figure=figure).update(active=False)
    StoreFlagRule.objects.filter(figure=figure).update(**rule)


def flagged():
    return {(f.store.code, f.rule.figure, f.total) for f in stores_flagged(today=TODAY)}


def test_a_day_counts_manual_actions_and_gifts_per_store():
    here, there = StoreFactory(code="S001"), StoreFactory(code="S002")
    member = MemberFactory(home_store=here)
    earned = points_earn(
        member=member, amount=500, key="e", cause_kind="admin", description="t", pending=False
    )
    service = person(roles.CUSTOMER_SERVICE)
    manual_adjust_request(member=member, points=300, reason="补偿", actor=service, key="a1")
    manual_adjust_request(member=member, points=-100, reason="更正", actor=service, key="a2")
    manual_void_request(entry=earned, reason="作废", actor=service, key="v1")  # 500 back
    waiting = manual_adjust_request(
        member=member, points=900, reason="大额", actor=service, key="a3"
    )
    refused = manual_adjust_request(
        member=MemberFactory(home_store=there), points=5000, reason="x", actor=service, key="a4"
    )
    manual_action_reject(action=refused, actor=person(roles.FINANCE))
    owner = StaffFactory(store=here, role="owner").user
    template = CouponTemplateFactory(per_store_limit=5, claimable=False)
    coupon_gift(template=template, member=member, store=here, actor=owner, key="g1")
    coupon_gift(template=template, member=member, store=here, actor=owner, key="g2")

    rollup_day(TODAY)

    row = DailyStoreRollup.objects.get(store=here, day=TODAY)
    assert (row.manual_actions, row.manual_points, row.coupons_gifted) == (3, 900, 2)
    assert waiting.status == "pending"  # waiting and rejected requests moved nothing
    there_row = DailyStoreRollup.objects.get(store=there, day=TODAY)  # a member joined there
    assert (there_row.manual_actions, there_row.manual_points) == (0, 0)


@pytest.fixture
def peers():
    """Ten stores spending about 1,000 points a day each for the last week."""
    stores = [StoreFactory(code=f"P{n:02d}") for n in range(10)]
    for n, store in enumerate(stores):
        days_of(store, "points_redeemed", 900 + 20 * n)
    return stores


def test_an_outlier_is_flagged_and_a_normal_store_is_not(peers):
    only("points_redeemed", days=7, multiple=Decimal(3), min_volume=20000)
    days_of(StoreFactory(code="X01"), "points_redeemed", 5000)  # 35,000 against ~7,000
    days_of(StoreFactory(code="N01"), "points_redeemed", 1500)  # above most, not far

    assert flagged() == {("X01", "points_redeemed", 35000)}
    flag = stores_flagged(today=TODAY)[0]
    assert flag.first_day == TODAY - timedelta(days=6)
    assert flag.median == Decimal(7070)  # between the 6th and 7th of twelve stores' totals


def test_a_small_store_under_the_minimum_volume_is_not_flagged():
    quiet = [StoreFactory(code=f"Q{n:02d}") for n in range(2, 8)]
    for store in quiet:
        days_of(store, "manual_points", 0)
    only("manual_points", days=7, multiple=Decimal(3), min_volume=2000)
    days_of(StoreFactory(code="SMALL"), "manual_points", 100)  # 700: far above 0, but small
    days_of(StoreFactory(code="BIG"), "manual_points", 400)  # 2,800

    assert flagged() == {("BIG", "manual_points", 2800)}


def test_only_the_rules_days_count(peers):
    only("points_redeemed", days=7, multiple=Decimal(3), min_volume=20000)
    days_of(StoreFactory(code="OLD"), "points_redeemed", 50000, days=3, first_back=7)
    days_of(StoreFactory(code="NEW"), "points_redeemed", 50000, days=1)

    assert flagged() == {("NEW", "points_redeemed", 50000)}


def test_an_inactive_rule_flags_nothing(peers):
    days_of(StoreFactory(code="X01"), "points_redeemed", 5000)
    StoreFlagRule.objects.update(active=False)

    assert stores_flagged(today=TODAY) == []


def test_every_figure_is_watched_in_three_queries_for_any_number_of_stores(peers):
    standout = StoreFactory(code="X01")
    days_of(
        standout,
        points_redeemed=10_000,
        coupons_used=10_000,
        manual_points=10_000,
        coupons_gifted=10_000,
    )
    with CaptureQueriesContext(connection) as few:
        found = stores_flagged(today=TODAY)
    for _n in range(40):
        days_of(StoreFactory(), coupons_used=1)
    with CaptureQueriesContext(connection) as many:
        stores_flagged(today=TODAY)

    assert len(few) == len(many) == 3  # the rules, the totals, the stores flagged
    assert {f.rule.figure for f in found if f.store == standout} == {
        "points_redeemed",
        "coupons_used",
        "manual_points",
        "coupons_gifted",
    }


def test_the_hq_front_page_flags_the_store_for_those_who_may_see_store_figures(client, peers):
    only("points_redeemed", days=7, multiple=Decimal(3), min_volume=20000)
    days_of(StoreFactory(code="X01", name="异常店"), "points_redeemed", 5000)

    client.force_login(person(roles.OPERATIONS))
    page = client.get("/admin/").content.decode()
    client.force_login(person(roles.CUSTOMER_SERVICE))
    hidden = client.get("/admin/").content.decode()

    assert "X01 异常店：7 天内使用积分 35000，门店中位数 7000" in page
    assert "异常门店" not in hidden and "X01" not in hidden

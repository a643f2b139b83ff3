"""The figures' definitions at their boundaries: active, dormant, new this month, the last
30 days, the repurchase rate, the members' share and the average order."""

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from apps.analytics.metrics import (
    active,
    average_order,
    dormant,
    member_share,
    new_this_month,
    repurchase_rate,
    window_start,
)
from apps.members.models import Member
from apps.orders.checkout import Checkout, order_place_paid
from apps.orders.models import Order
from apps.orders.pricing import LineInput
from tests.members.factories import MemberFactory
from tests.stores.factories import StoreFactory

NOW = timezone.make_aware(datetime(2026, 12, 3, 15, 0))
LONG_AGO = NOW - timedelta(days=400)


def ago(days, **more):
    return NOW - timedelta(days=days, **more)


# (last seen, joined) -> (active, dormant)
SEEN = [
    (ago(0), LONG_AGO, True, False),
    (ago(29), LONG_AGO, True, False),
    (ago(30), LONG_AGO, True, False),
    (ago(30, seconds=1), LONG_AGO, False, False),
    (ago(31), LONG_AGO, False, False),
    (ago(89), LONG_AGO, False, False),
    (ago(90), LONG_AGO, False, False),
    (ago(90, seconds=1), LONG_AGO, False, True),
    (ago(91), LONG_AGO, False, True),
    (None, LONG_AGO, False, True),  # never seen, joined long ago
    (None, ago(91), False, True),
    (None, ago(90), False, False),
    (None, ago(89), False, False),
    (None, ago(1), False, False),  # never seen, joined recently
    (None, NOW, False, False),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("last_active_at", "joined_at", "is_active", "is_dormant"), SEEN)
def test_active_and_dormant_at_their_boundaries(last_active_at, joined_at, is_active, is_dormant):
    member = MemberFactory(last_active_at=last_active_at, joined_at=joined_at)
    members = Member.objects.filter(pk=member.pk)

    assert members.filter(active(NOW)).exists() is is_active
    assert members.filter(dormant(NOW)).exists() is is_dormant


@pytest.mark.django_db
def test_new_this_month_starts_at_local_midnight_on_the_first():
    first = timezone.make_aware(datetime(2026, 12, 1))
    cases = {
        MemberFactory(joined_at=first).pk: True,
        MemberFactory(joined_at=first - timedelta(microseconds=1)).pk: False,
        MemberFactory(joined_at=NOW).pk: True,
        MemberFactory(joined_at=ago(29)).pk: False,
    }

    found = set(Member.objects.filter(new_this_month(NOW)).values_list("pk", flat=True))

    assert found == {pk for pk, new in cases.items() if new}


@pytest.mark.parametrize(
    ("today", "days", "first"),
    [
        (date(2026, 12, 3), 30, date(2026, 11, 4)),
        (date(2026, 3, 1), 30, date(2026, 1, 31)),
        (date(2026, 12, 3), 1, date(2026, 12, 3)),
        (date(2026, 12, 3), 90, date(2026, 9, 5)),
    ],
)
def test_the_last_days_end_today(today, days, first):
    assert window_start(today, days) == first


def test_the_last_30_days_are_the_default():
    assert window_start(date(2026, 12, 3)) == date(2026, 11, 4)


@pytest.mark.parametrize(
    ("member_sales", "sales", "share"),
    [
        (Decimal("500.00"), Decimal("600.00"), Decimal("83.3")),
        (Decimal("600.00"), Decimal("600.00"), Decimal("100.0")),
        (Decimal("0"), Decimal("600.00"), Decimal("0.0")),
        (Decimal("1.00"), Decimal("16.00"), Decimal("6.3")),  # 6.25, half up
        (Decimal("0"), Decimal("0"), None),
    ],
)
def test_the_members_share_of_sales(member_sales, sales, share):
    result = member_share(member_sales, sales)

    assert result == share and str(result) == str(share)


@pytest.mark.parametrize(
    ("sales", "orders", "average"),
    [
        (Decimal("500.00"), 2, Decimal("250.00")),
        (Decimal("100.00"), 3, Decimal("33.33")),
        (Decimal("200.00"), 3, Decimal("66.67")),
        (Decimal("0.01"), 2, Decimal("0.01")),  # 0.005, half up
        (Decimal("0"), 0, None),
    ],
)
def test_the_average_order(sales, orders, average):
    result = average_order(sales, orders)

    assert result == average and str(result) == str(average)


def paid(store, member, days_ago, n):
    order = order_place_paid(
        checkout=Checkout(
            store=store,
            channel="pos",
            member=member,
            lines=[LineInput(sku="X", quantity=1, unit_price=Decimal("10.00"))],
        ),
        external_id=f"M-{n}",
    )
    Order.objects.filter(pk=order.pk).update(paid_at=ago(days_ago))


@pytest.mark.django_db
def test_the_repurchase_rate_counts_members_who_bought_twice_in_90_days():
    store, elsewhere = StoreFactory(), StoreFactory()
    twice, boundary, once, lapsed, other_store = (MemberFactory() for _ in range(5))
    paid(store, twice, 1, 1)
    paid(store, twice, 89, 2)
    paid(store, boundary, 0, 3)
    paid(store, boundary, 90, 4)  # exactly 90 days ago: inside
    paid(store, once, 10, 5)
    paid(store, once, 91, 6)  # outside: `once` bought once in the window
    paid(store, lapsed, 91, 7)
    paid(store, lapsed, 120, 8)  # not a buyer in the window at all
    paid(store, None, 1, 9)
    paid(store, None, 2, 10)  # non-members are not buyers
    paid(elsewhere, other_store, 1, 11)
    paid(elsewhere, other_store, 2, 12)

    rate = repurchase_rate(Order.objects.filter(store=store), now=NOW)

    assert rate == Decimal("66.7")  # twice and boundary, of twice, boundary and once
    assert repurchase_rate(Order.objects.filter(store=elsewhere), now=NOW) == Decimal("100.0")
    assert repurchase_rate(Order.objects.none(), now=NOW) is None

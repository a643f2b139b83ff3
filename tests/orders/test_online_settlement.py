"""The online sales settlement: what HQ, which takes the online payments, owes each franchise
store of the online sales in its mall, by the share HQ sets per store or category."""

import csv
import io
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from itertools import count

import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from apps.core import roles
from apps.orders.checkout import Checkout, order_place_paid
from apps.orders.models import OnlineShare, Order
from apps.orders.pricing import LineInput
from apps.orders.refunds import RefundLineInput, order_refund
from apps.orders.settlement import (
    online_dealer_totals,
    online_statement,
    online_statement_csv,
    share_percent,
)
from apps.stores.models import Store
from tests.core.factories import UserFactory
from tests.distributors.factories import DistributorFactory
from tests.mall.factories import SkuFactory
from tests.stores.factories import StoreFactory

pytestmark = pytest.mark.django_db

# Share resolution: the most specific rule wins (no database).

S, OTHER = 7, 8
RULES = {(S, "护肤"): "30", (S, ""): "15", (None, "护肤"): "20", (None, ""): "10"}


@pytest.mark.parametrize(
    ("rules", "store", "category", "percent"),
    [
        (RULES, S, "护肤", "30"),  # store and category
        (RULES, S, "服饰", "15"),  # store
        (RULES, OTHER, "护肤", "20"),  # category
        (RULES, OTHER, "服饰", "10"),  # default
        (RULES, S, "", "15"),  # a line without a category: the store's rule
        ({(S, "护肤"): "30", (None, "护肤"): "20"}, S, "服饰", "0"),  # nothing fits
        ({(S, "护肤"): "30", (None, ""): "10"}, S, "服饰", "10"),  # store+category only for 护肤
        ({(None, "护肤"): "20", (S, ""): "15"}, S, "护肤", "15"),  # store beats category
        ({(OTHER, ""): "50", (None, ""): "10"}, S, "护肤", "10"),  # another store's rule
        ({}, S, "护肤", "0"),
        (RULES, S, "护肤/精华", "30"),  # a subcategory: its parent's rule
        ({(None, "精华"): "25", (S, "护肤"): "30"}, S, "护肤/精华", "30"),  # the store first
        ({(None, "精华"): "25", (None, "护肤"): "20"}, S, "护肤/精华", "25"),  # its own name
    ],
)
def test_the_most_specific_share_wins(rules, store, category, percent):
    shares = {key: Decimal(value) for key, value in rules.items()}

    assert share_percent(shares, store, category) == Decimal(percent)


# The statement, on PostgreSQL.

numbers = count(1)


def at(day, hour=12):
    return timezone.make_aware(datetime.combine(day, time(hour)))


def sell(store, channel, *items, when=None, member=None) -> Order:
    """A paid order of `channel`: items are (sku, quantity, unit price)."""
    return order_place_paid(
        checkout=Checkout(
            store=store,
            channel=channel,
            member=member,
            lines=[LineInput(sku=sku, quantity=n, unit_price=Decimal(p)) for sku, n, p in items],
        ),
        external_id=f"T-{next(numbers)}",
        now=when,
    )


def last_month():
    end = timezone.localdate().replace(day=1) - timedelta(days=1)
    return end.replace(day=1), end


def this_month():
    today = timezone.localdate()
    return today.replace(day=1), today


@pytest.fixture
def world(db):
    SkuFactory(sku="SERUM", name="精华", price=Decimal("100.00"), category="护肤/精华")
    SkuFactory(sku="TEE", name="T恤", price=Decimal("50.00"), category="服饰")
    dealer = DistributorFactory(code="D100", name="杭州经销")
    f1 = StoreFactory(code="F001", kind=Store.Kind.FRANCHISE, distributor=dealer)
    f2 = StoreFactory(code="F002", kind=Store.Kind.FRANCHISE, distributor=dealer)
    direct = StoreFactory(code="D001", kind=Store.Kind.DIRECT)
    since = timezone.localdate() - timedelta(days=400)
    OnlineShare.objects.create(percent=Decimal("10"), valid_from=since)
    OnlineShare.objects.create(category="护肤", percent=Decimal("20"), valid_from=since)
    OnlineShare.objects.create(store=f1, percent=Decimal("15"), valid_from=since)
    OnlineShare.objects.create(store=f1, category="护肤", percent=Decimal("30"), valid_from=since)
    return {"dealer": dealer, "f1": f1, "f2": f2, "direct": direct, "since": since}


def amounts(row):
    return [
        (line.category, line.sales, line.refunds, line.percent, line.owed)
        for line in row.categories
    ]


def test_each_online_channel_counts_net_of_line_and_amount_refunds(world):
    f1, f2, direct = world["f1"], world["f2"], world["direct"]
    mall = sell(f1, "mall", ("SERUM", 2, "100.00"), ("TEE", 1, "50.00"))
    sell(f1, "store_pay", ("PAY", 1, "128.00"))  # an amount paid by QR: no category
    mini = sell(f1, "miniprogram", ("TEE", 2, "50.00"))
    sell(f1, "pos", ("SERUM", 5, "100.00"))  # the till's own sale: the store took the money
    sell(f1, "platform:youzan", ("SERUM", 3, "100.00"))
    sell(f2, "mall", ("SERUM", 1, "100.00"), ("TEE", 1, "33.25"))
    sell(direct, "mall", ("SERUM", 1, "100.00"))
    order_refund(order=mall, refund_id="R1", lines=[RefundLineInput(sku="TEE", quantity=1)])
    order_refund(order=mini, refund_id="R2", amount=Decimal("30.00"))

    rows = online_statement(start=this_month()[0], end=this_month()[1])

    assert [row.store.code for row in rows] == ["D001", "F001", "F002"]
    d001, f001, f002 = rows
    assert amounts(f001) == [
        ("", Decimal("128.00"), Decimal(0), Decimal("15.00"), Decimal("19.20")),
        ("护肤/精华", Decimal("200.00"), Decimal(0), Decimal("30.00"), Decimal("60.00")),
        ("服饰", Decimal("150.00"), Decimal("80.00"), Decimal("15.00"), Decimal("10.50")),
    ]
    assert (f001.sales, f001.refunds, f001.net, f001.owed) == (
        Decimal("478.00"),
        Decimal("80.00"),
        Decimal("398.00"),
        Decimal("89.70"),
    )
    # 33.25 × 10% = 3.325: half up to the fen, once for the store and category
    assert amounts(f002) == [
        ("护肤/精华", Decimal("100.00"), Decimal(0), Decimal("20.00"), Decimal("20.00")),
        ("服饰", Decimal("33.25"), Decimal(0), Decimal("10.00"), Decimal("3.33")),
    ]
    assert f002.owed == Decimal("23.33")
    assert amounts(d001) == [("护肤/精华", Decimal("100.00"), Decimal(0), None, None)]
    assert (d001.paid_out, d001.net, d001.owed) == (False, Decimal("100.00"), None)
    assert online_dealer_totals(rows) == [("D100 杭州经销", Decimal("531.25"), Decimal("113.03"))]


def test_a_refund_counts_in_the_period_it_happens_in(world):
    f2 = world["f2"]
    first, _end = last_month()
    order = sell(f2, "mall", ("SERUM", 2, "100.00"), when=at(first + timedelta(days=14)))
    order_refund(order=order, refund_id="R1", lines=[RefundLineInput(sku="SERUM", quantity=1)])

    before = online_statement(start=last_month()[0], end=last_month()[1])
    after = online_statement(start=this_month()[0], end=this_month()[1])

    assert amounts(before[0]) == [
        ("护肤/精华", Decimal("200.00"), Decimal(0), Decimal("20.00"), Decimal("40.00"))
    ]
    # the refund is taken off this month's payout: HQ takes back its share
    assert amounts(after[0]) == [
        ("护肤/精华", Decimal(0), Decimal("100.00"), Decimal("20.00"), Decimal("-20.00"))
    ]
    assert after[0].owed == Decimal("-20.00")


def test_orders_outside_the_period_or_unpaid_are_left_out(world):
    f1 = world["f1"]
    first, _end = last_month()
    sell(f1, "mall", ("SERUM", 1, "100.00"), when=at(first - timedelta(days=1), hour=23))

    assert online_statement(start=first, end=_end) == []
    assert online_statement(start=this_month()[0], end=this_month()[1]) == []


def test_a_fully_refunded_order_still_counts_its_sale(world):
    f1 = world["f1"]
    order = sell(f1, "mall", ("SERUM", 1, "100.00"))
    order_refund(order=order, refund_id="R1", amount=Decimal("100.00"))

    (row,) = online_statement(start=this_month()[0], end=this_month()[1])

    assert Order.objects.get(pk=order.pk).status == Order.Status.REFUNDED
    assert amounts(row) == [
        ("护肤/精华", Decimal("100.00"), Decimal("100.00"), Decimal("30.00"), Decimal("0.00"))
    ]


def test_a_share_holds_for_orders_paid_from_its_first_day_and_refunds_give_back_theirs(world):
    f2 = world["f2"]
    first, end = last_month()
    middle = first + timedelta(days=10)
    OnlineShare.objects.create(store=f2, category="护肤", percent=Decimal("25"), valid_from=middle)
    before = sell(f2, "mall", ("SERUM", 2, "100.00"), when=at(middle - timedelta(days=1), 23))
    sell(f2, "mall", ("SERUM", 1, "100.00"), when=at(middle, hour=0))
    order_refund(order=before, refund_id="R1", lines=[RefundLineInput(sku="SERUM", quantity=1)])

    (row,) = online_statement(start=first, end=end)
    (now,) = online_statement(start=this_month()[0], end=this_month()[1])

    # the 20% category rule until the day before, the store's 25% from 00:00 on its first day
    assert amounts(row) == [
        ("护肤/精华", Decimal("200.00"), Decimal(0), Decimal("20.00"), Decimal("40.00")),
        ("护肤/精华", Decimal("100.00"), Decimal(0), Decimal("25.00"), Decimal("25.00")),
    ]
    assert row.owed == Decimal("65.00")
    # the refund, this month, takes back the share its order was paid under
    assert amounts(now) == [
        ("护肤/精华", Decimal(0), Decimal("100.00"), Decimal("20.00"), Decimal("-20.00"))
    ]


def test_a_statement_once_drawn_is_not_changed_by_a_new_share(world):
    f1, f2 = world["f1"], world["f2"]
    first, end = last_month()
    sell(f1, "mall", ("SERUM", 1, "100.00"), ("TEE", 2, "50.00"), when=at(first))
    sell(f2, "store_pay", ("PAY", 1, "88.00"), when=at(end, hour=23))
    drawn = [amounts(row) for row in online_statement(start=first, end=end)]

    today = timezone.localdate()
    OnlineShare.objects.create(percent=Decimal("50"), valid_from=today)
    OnlineShare.objects.create(store=f1, category="服饰", percent=Decimal("40"), valid_from=today)

    assert [amounts(row) for row in online_statement(start=first, end=end)] == drawn


def test_the_statement_costs_the_same_queries_for_more_stores(world, django_assert_max_num_queries):
    for day in range(1, 4):
        since = timezone.localdate() - timedelta(days=day)
        OnlineShare.objects.create(category="服饰", percent=Decimal(day), valid_from=since)
    for n in range(12):
        store = StoreFactory(code=f"X{n:03d}", kind=Store.Kind.FRANCHISE)
        sell(store, "mall", ("SERUM", 1, "100.00"), ("TEE", 1, "50.00"))
        order_refund(
            order=Order.objects.filter(store=store).get(),
            refund_id="R",
            lines=[RefundLineInput(sku="TEE", quantity=1)],
        )

    with django_assert_max_num_queries(5):
        rows = online_statement(start=this_month()[0], end=this_month()[1])
        online_dealer_totals(rows)
        online_statement_csv(rows)

    assert len(rows) == 12


# The share rules in the console.


def test_a_share_never_starts_in_the_past_nor_changes_once_made(client, world):
    f1 = world["f1"]
    finance = finance_client(client)
    yesterday = timezone.localdate() - timedelta(days=1)
    share = OnlineShare.objects.get(store=f1, category="")
    later = OnlineShare.objects.create(
        store=f1, percent=Decimal("18"), valid_from=timezone.localdate() + timedelta(days=30)
    )

    past = finance.post(
        "/admin/orders/onlineshare/add/",
        {"store": f1.pk, "category": "服饰", "percent": "12", "valid_from": yesterday},
    )
    edited = finance.post(
        f"/admin/orders/onlineshare/{share.pk}/change/",
        {"store": f1.pk, "category": "", "percent": "99", "valid_from": yesterday},
    )
    deleted = finance.post(f"/admin/orders/onlineshare/{share.pk}/delete/", {"post": "yes"})
    dropped = finance.post(f"/admin/orders/onlineshare/{later.pk}/delete/", {"post": "yes"})

    assert past.status_code == 200
    assert "今天" in str(past.context["adminform"].form.errors["valid_from"])
    assert not OnlineShare.objects.filter(category="服饰").exists()
    assert edited.status_code == 403
    share.refresh_from_db()
    assert (share.percent, share.valid_from) == (Decimal("15.00"), world["since"])
    assert deleted.status_code == 403 and OnlineShare.objects.filter(pk=share.pk).exists()
    # a rule not yet in force was never in a statement: it may go
    assert dropped.status_code == 302 and not OnlineShare.objects.filter(pk=later.pk).exists()


def finance_client(client):
    user = UserFactory(is_staff=True)
    user.groups.add(Group.objects.get(name=roles.FINANCE))
    client.force_login(user)
    return client


def test_finance_sets_a_share_and_draws_the_csv(client, world):
    f1 = world["f1"]
    finance = finance_client(client)
    sell(f1, "mall", ("TEE", 1, "50.00"))

    added = finance.post(
        "/admin/orders/onlineshare/add/",
        {"store": f1.pk, "category": "服饰", "percent": "12.5", "valid_from": timezone.localdate()},
    )
    start, end = this_month()
    page = finance.get("/admin/orders/onlineshare/settlement/", {"start": start, "end": end})
    download = finance.get(
        "/admin/orders/onlineshare/settlement/", {"start": start, "end": end, "format": "csv"}
    )

    assert added.status_code == 302
    assert page.status_code == 200 and page.context["rows"][0].owed == Decimal("6.25")
    assert "<th>分成比例 (%)</th><th>应付（元）</th>" in page.content.decode()
    assert download["Content-Disposition"] == (
        f'attachment; filename="online-settlement-{start}-{end}.csv"'
    )
    lines = list(csv.reader(io.StringIO(download.content.decode("utf-8-sig"))))
    assert lines[0] == [
        *("门店", "门店名称", "类型", "经销商", "品类"),
        *("线上销售额", "退款", "净销售额", "分成比例（%）", "应付（元）"),
    ]
    store = ["F001", f1.name, "加盟", "D100 杭州经销"]
    assert lines[1:] == [[*store, "服饰", "50.00", "0.00", "50.00", "12.50", "6.25"]]


@pytest.mark.parametrize(
    ("form", "field"),
    [
        ({"category": "", "percent": "10"}, "__all__"),  # today's default exists already
        ({"category": "护肤", "percent": "5"}, "__all__"),  # so does today's 护肤 rule
        ({"category": "服饰", "percent": "100.01"}, "percent"),
        ({"category": "服饰", "percent": "-1"}, "percent"),
        ({"store": "DIRECT", "category": "", "percent": "5"}, "store"),
    ],
)
def test_a_share_outside_the_rules_is_refused(client, world, form, field):
    finance = finance_client(client)
    today = timezone.localdate()
    OnlineShare.objects.create(percent=Decimal("12"), valid_from=today)
    OnlineShare.objects.create(category="护肤", percent=Decimal("22"), valid_from=today)
    form = {**form, "valid_from": today}
    if form.get("store") == "DIRECT":
        form = {**form, "store": world["direct"].pk}
    before = OnlineShare.objects.count()

    response = finance.post("/admin/orders/onlineshare/add/", form)

    assert response.status_code == 200
    assert field in response.context["adminform"].form.errors
    assert OnlineShare.objects.count() == before


def test_a_direct_store_share_is_refused_by_the_model(world):
    with pytest.raises(ValidationError):
        OnlineShare(store=world["direct"], percent=Decimal(5)).full_clean()


@pytest.mark.parametrize("role", [roles.MARKETING, roles.OPERATIONS, roles.CUSTOMER_SERVICE])
def test_other_roles_neither_see_the_settlement_nor_set_shares(client, world, role):
    user = UserFactory(is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    client.force_login(user)

    settlement = client.get("/admin/orders/onlineshare/settlement/", {"format": "csv"})
    added = client.post("/admin/orders/onlineshare/add/", {"category": "x", "percent": "50"})

    assert settlement.status_code == 403 and not settlement.has_header("Content-Disposition")
    assert added.status_code == 403
    assert not OnlineShare.objects.filter(category="x").exists()


@pytest.mark.django_db(transaction=True)
def test_shares_made_before_they_had_a_first_day_keep_every_drawn_statement():
    executor = MigrationExecutor(connection)
    (target,) = [key for key in executor.loader.graph.nodes if key[1].endswith("share_valid_from")]
    parents = [
        p.key for p in executor.loader.graph.node_map[target].parents if p.key[0] == "orders"
    ]
    executor.migrate(parents)
    try:
        old = executor.loader.project_state(parents).apps
        store = StoreFactory(kind=Store.Kind.FRANCHISE)
        first_paid = timezone.make_aware(datetime(2025, 3, 31, 23, 30))
        for n, paid_at in enumerate([first_paid, None, first_paid + timedelta(days=40)]):
            old.get_model("orders", "Order").objects.create(
                order_no=f"M{n}",
                store_id=store.pk,
                channel="mall",
                paid_at=paid_at,
                subtotal=Decimal(100),
                payable=Decimal(100),
            )
        old.get_model("orders", "OnlineShare").objects.create(percent=Decimal("10"))

        MigrationExecutor(connection).migrate([target])
    finally:
        MigrationExecutor(connection).migrate(executor.loader.graph.leaf_nodes())

    assert list(OnlineShare.objects.values_list("valid_from", flat=True)) == [date(2025, 3, 31)]

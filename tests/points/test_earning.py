"""Earning rules: pure table tests, then the rules as HQ keeps them in the database."""

from datetime import datetime
from decimal import Decimal

import pytest
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from apps.members.models import Segment
from apps.points.earning import order_points_quote, points_award_event, points_award_order
from apps.points.models import EarningRule, RuleUsage
from apps.points.rules import OrderLine, RuleFacts, order_points, usage_period
from apps.points.selectors import points_available, points_totals
from apps.tiers.models import Tier
from tests.members.factories import MemberFactory
from tests.stores.factories import StoreFactory

BASE = RuleFacts(id=1, name="消费积分", kind="rate", rate=Decimal("1"))
WEDNESDAY = RuleFacts(
    id=2, name="会员日双倍", kind="multiplier", multiplier=Decimal("2"), weekdays=frozenset({3})
)
NO_GIFT_CARDS = RuleFacts(
    id=3,
    name="礼品卡不积分",
    kind="multiplier",
    multiplier=Decimal("0"),
    categories=frozenset({"giftcard"}),
)
BEAUTY_TRIPLE = RuleFacts(
    id=4,
    name="美妆三倍",
    kind="multiplier",
    multiplier=Decimal("3"),
    skus=frozenset({"SKU9"}),
    per_order_cap=100,
)


def lines(*paid):
    return [
        OrderLine(sku=sku, category=category, paid=Decimal(amount))
        for sku, category, amount in paid
    ]


@pytest.mark.parametrize(
    ("order", "rules", "weekday", "cap", "total", "applied"),
    [
        (lines(("SKU1", "shoes", "128.50")), [BASE], 1, None, 128, [(1, "消费积分", 128)]),
        (
            lines(("SKU1", "shoes", "128.50")),
            [BASE, WEDNESDAY],
            1,
            None,
            128,
            [(1, "消费积分", 128)],
        ),
        (
            lines(("SKU1", "shoes", "128.50")),
            [BASE, WEDNESDAY],
            3,
            None,
            257,
            [(1, "消费积分", 129), (2, "会员日双倍", 128)],
        ),
        (
            lines(("SKU1", "shoes", "100"), ("GC", "giftcard", "500")),
            [BASE, NO_GIFT_CARDS],
            1,
            None,
            100,
            [(1, "消费积分", 600), (3, "礼品卡不积分", -500)],
        ),
        (
            lines(("SKU9", "beauty", "80")),
            [BASE, BEAUTY_TRIPLE],
            1,
            None,
            180,
            [(1, "消费积分", 80), (4, "美妆三倍", 100)],
        ),
        (
            lines(("SKU1", "shoes", "5000")),
            [BASE],
            1,
            2000,
            2000,
            [(1, "消费积分", 5000), (None, "单笔积分上限", -3000)],
        ),
        (lines(("SKU1", "shoes", "99")), [WEDNESDAY], 3, None, 0, []),  # no rate, no points
        (
            lines(("SKU1", "shoes", "99.99")),
            [RuleFacts(id=5, name="高倍率", kind="rate", rate=Decimal("1.5")), BASE],
            1,
            None,
            149,
            [(5, "高倍率", 149)],
        ),
    ],
)
def test_order_points_table(order, rules, weekday, cap, total, applied):
    quote = order_points(order, rules, weekday=weekday, order_cap=cap)

    assert quote.total == total
    assert quote.applied == applied


@pytest.mark.parametrize(
    ("period", "day", "key"),
    [
        ("day", "2026-11-25", "2026-11-25"),
        ("week", "2026-11-25", "2026-W48"),
        ("month", "2026-11-25", "2026-11"),
        ("year", "2026-11-25", "2026"),
        ("ever", "2026-11-25", "ever"),
        ("week", "2027-01-01", "2026-W53"),
    ],
)
def test_usage_periods(period, day, key):
    from datetime import date

    assert usage_period(period, date.fromisoformat(day)) == key


@pytest.mark.django_db
def test_rules_from_the_admin_award_an_order_once_and_count_their_use():
    member, store = MemberFactory(), StoreFactory()
    EarningRule.objects.create(name="消费积分", kind="rate", points_per_yuan=Decimal("1"))
    double = EarningRule.objects.create(
        name="会员日双倍",
        kind="multiplier",
        multiplier=Decimal("2"),
        weekdays="3",
        limit_count=1,
        limit_period="week",
    )
    wednesday = timezone.make_aware(datetime(2026, 11, 25, 12))
    order = lines(("SKU1", "shoes", "200.00"))

    entry, quote = points_award_order(
        member=member,
        store=store,
        lines=order,
        order_id=1,
        description="订单消费得积分",
        when=wednesday,
    )
    again, _ = points_award_order(
        member=member,
        store=store,
        lines=order,
        order_id=1,
        description="订单消费得积分",
        when=wednesday,
    )
    _second, second_quote = points_award_order(
        member=member,
        store=store,
        lines=order,
        order_id=2,
        description="订单消费得积分",
        when=wednesday,
    )

    assert (quote.total, again.pk) == (400, entry.pk)
    assert second_quote.total == 200  # the member day doubles once a week
    assert RuleUsage.objects.get(rule=double).count == 1
    assert points_totals(member)["pending"] == 600


@pytest.mark.django_db
def test_rules_hold_only_where_when_and_for_whom_they_are_set():
    member, here, elsewhere = MemberFactory(marketing_consent=True), StoreFactory(), StoreFactory()
    EarningRule.objects.create(name="消费积分", kind="rate", points_per_yuan=Decimal("1"))
    local = EarningRule.objects.create(name="本店三倍", kind="multiplier", multiplier=Decimal("3"))
    local.stores.add(here)
    consenting = Segment.objects.create(name="同意营销", marketing_consent=True)
    vip = EarningRule.objects.create(
        name="营销会员加倍", kind="multiplier", multiplier=Decimal("2")
    )
    vip.segments.add(consenting)
    EarningRule.objects.create(
        name="已结束",
        kind="multiplier",
        multiplier=Decimal("10"),
        ends_at=timezone.now() - timezone.timedelta(days=1),
    )
    order = lines(("SKU1", "shoes", "10"))

    assert order_points_quote(member=member, store=here, lines=order).total == 60
    assert order_points_quote(member=member, store=elsewhere, lines=order).total == 20
    member.marketing_consent = False
    member.save()
    assert order_points_quote(member=member, store=elsewhere, lines=order).total == 10


@pytest.mark.django_db
def test_join_bonus_is_given_once():
    member = MemberFactory()
    EarningRule.objects.create(
        name="开卡礼积分",
        kind="bonus",
        event="join",
        points=200,
        limit_count=1,
        limit_period="ever",
    )

    points_award_event(member=member, event="join", cause_id=member.pk)
    points_award_event(member=member, event="join", cause_id=member.pk)  # replayed
    points_award_event(member=member, event="join", cause_id=member.pk + 1)  # limit reached

    assert points_available(member) == 200


@given(
    paid=st.lists(st.integers(0, 10**6), min_size=1, max_size=8),
    rate=st.decimals("0.01", "10", places=2),
    factors=st.lists(st.sampled_from(["0", "0.5", "1", "1.5", "2", "3"]), max_size=3),
)
def test_parts_add_up_to_the_total_which_is_the_exact_points_rounded_down(paid, rate, factors):
    order = [
        OrderLine(sku=f"S{n}", category="c", paid=Decimal(fen) / 100) for n, fen in enumerate(paid)
    ]
    rules = [RuleFacts(id=1, name="base", kind="rate", rate=rate)] + [
        RuleFacts(id=10 + n, name=f"x{factor}", kind="multiplier", multiplier=Decimal(factor))
        for n, factor in enumerate(factors)
    ]

    quote = order_points(order, rules, weekday=1, order_cap=None)

    product = Decimal(1)
    for factor in factors:
        product *= Decimal(factor)
    exact = sum(line.paid for line in order) * rate * product
    assert quote.total == int(exact.to_integral_value(rounding="ROUND_FLOOR"))
    assert sum(points for _id, _label, points in quote.applied) == quote.total


@pytest.mark.django_db
def test_a_new_member_gets_the_join_bonus_through_the_event(
    api_client, django_capture_on_commit_callbacks
):
    from apps.members.models import Member

    EarningRule.objects.create(name="开卡礼积分", kind="bonus", event="join", points=100)

    with django_capture_on_commit_callbacks(execute=True):
        api_client.post(
            "/api/v1/auth/login", {"phone": "13800000000", "code": "123456"}, format="json"
        )

    member = Member.objects.get(phone="13800000000")
    assert points_available(member) == 100


@pytest.mark.django_db
def test_the_tier_multiplier_and_tier_only_rules_follow_the_members_tier():
    from apps.tiers.services import tier_set_manual

    normal = Tier.objects.create(code="normal", name="普通会员", rank=0, growth_threshold=0)
    gold = Tier.objects.create(
        code="gold", name="黄金会员", rank=1, growth_threshold=2000, points_multiplier="1.5"
    )
    member, store = MemberFactory(), StoreFactory()
    EarningRule.objects.create(name="消费积分", kind="rate", points_per_yuan=Decimal("1"))
    gold_only = EarningRule.objects.create(
        name="黄金会员鞋类双倍", kind="multiplier", multiplier=Decimal("2"), categories="shoes"
    )
    gold_only.tiers.add(gold)
    order = lines(("SKU1", "shoes", "100.00"), ("SKU2", "socks", "10.00"))

    assert order_points_quote(member=member, store=store, lines=order).total == 110
    assert normal.points_multiplier == 1

    tier_set_manual(member=member, tier=gold, until=None, reason="测试", actor=None)
    quote = order_points_quote(member=member, store=store, lines=order)

    assert quote.total == (100 * 2 + 10) * Decimal("1.5")
    assert [label for _id, label, _points in quote.applied] == [
        "消费积分",
        "黄金会员鞋类双倍",
        "黄金会员1.5倍积分",
    ]
    assert None not in quote.rule_ids


@pytest.mark.django_db
def test_completing_the_profile_earns_its_bonus_once(django_capture_on_commit_callbacks):
    from datetime import date

    from apps.members.services import member_profile_update

    EarningRule.objects.create(
        name="完善资料送 50 积分", kind="bonus", event="profile_complete", points=50
    )
    member = MemberFactory(name="", gender="", birthday=None)

    with django_capture_on_commit_callbacks(execute=True):
        member = member_profile_update(member=member, name="王芳", gender="female")
    assert points_available(member) == 0

    with django_capture_on_commit_callbacks(execute=True):
        member = member_profile_update(member=member, birthday=date(1990, 5, 1))
        member = member_profile_update(member=member, name="")
        member = member_profile_update(member=member, name="王芳")

    assert points_available(member) == 50


# The first-purchase bonus goes with the purchase that earned it: a refund in full takes it
# back (what the member spent of it is kept from the refund), a partial refund leaves it,
# and a member whose first purchase was refunded in full earns it on the next one.


@pytest.fixture
def first_purchase(db):
    EarningRule.objects.create(
        name="首单送 300 积分", kind="bonus", event="first_purchase", points=300
    )
    return MemberFactory(), StoreFactory()


def buy(member, store, capture, *, n: int, amount: str = "100.00"):
    from apps.orders.checkout import Checkout, order_place_paid
    from apps.orders.pricing import LineInput

    with capture(execute=True):
        return order_place_paid(
            checkout=Checkout(
                store=store,
                channel="pos",
                member=member,
                lines=[LineInput(sku="X", quantity=1, unit_price=Decimal(amount))],
            ),
            external_id=f"FP-{n}",
        )


def refund(order, amount: str, refund_id: str = "r1"):
    from apps.orders.refunds import order_refund

    return order_refund(order=order, refund_id=refund_id, amount=Decimal(amount))


def bonuses(member) -> list:
    from apps.points.models import Entry

    return list(Entry.objects.filter(member=member, description="首单送 300 积分").order_by("pk"))


def test_a_refund_in_full_takes_the_first_purchase_bonus_back(
    first_purchase, django_capture_on_commit_callbacks
):
    member, store = first_purchase
    order = buy(member, store, django_capture_on_commit_callbacks, n=1)
    assert points_available(member) == 300

    done = refund(order, "100.00")

    assert points_available(member) == 0
    assert (done.shortfall_points, done.shortfall_cash) == (0, 0)
    (earned,) = bonuses(member)
    assert list(earned.reversals.values_list("amount", "description")) == [
        (300, f"订单 {order.order_no} 全额退款扣回首单奖励")
    ]
    assert refund(order, "100.00").pk == done.pk  # replayed: nothing taken twice
    assert earned.reversals.count() == 1


def test_a_partial_refund_leaves_the_bonus_and_the_one_that_completes_it_takes_it(
    first_purchase, django_capture_on_commit_callbacks
):
    member, store = first_purchase
    order = buy(member, store, django_capture_on_commit_callbacks, n=1)

    refund(order, "60.00", "r1")
    after_partial = points_available(member)
    refund(order, "40.00", "r2")

    assert after_partial == 300
    assert points_available(member) == 0


def test_the_bonus_is_earned_again_after_the_first_purchase_was_refunded_in_full(
    first_purchase, django_capture_on_commit_callbacks
):
    member, store = first_purchase
    first = buy(member, store, django_capture_on_commit_callbacks, n=1)
    refund(first, "100.00")

    buy(member, store, django_capture_on_commit_callbacks, n=2)
    buy(member, store, django_capture_on_commit_callbacks, n=3)  # not a first purchase

    assert points_available(member) == 300


def test_a_second_purchase_earns_no_bonus_and_its_refund_takes_none(
    first_purchase, django_capture_on_commit_callbacks
):
    member, store = first_purchase
    buy(member, store, django_capture_on_commit_callbacks, n=1)
    second = buy(member, store, django_capture_on_commit_callbacks, n=2)

    refund(second, "100.00")

    assert points_available(member) == 300


def test_a_bonus_already_spent_is_kept_from_the_refund_at_the_points_rate(
    first_purchase, django_capture_on_commit_callbacks
):
    from apps.points.services import points_redeem

    member, store = first_purchase
    order = buy(member, store, django_capture_on_commit_callbacks, n=1)
    points_redeem(member=member, amount=200, key="spend", cause_kind="admin", description="兑换")

    done = refund(order, "100.00")

    assert points_available(member) == 0
    assert (done.shortfall_points, done.shortfall_cash) == (200, Decimal("2.00"))


def test_two_first_orders_earn_one_bonus(first_purchase):
    from apps.points.earning import first_purchase_bonus_award

    member, _store = first_purchase

    first_purchase_bonus_award(member=member, order_id=1)
    first_purchase_bonus_award(member=member, order_id=2)

    assert points_available(member) == 300


def test_a_returning_member_earns_no_first_purchase_bonus(
    first_purchase, django_capture_on_commit_callbacks
):
    member, store = first_purchase
    member.returning = True
    member.save()

    buy(member, store, django_capture_on_commit_callbacks, n=1)

    assert points_available(member) == 0


@pytest.mark.django_db(transaction=True)
def test_first_orders_paid_at_once_earn_one_bonus_between_them():
    from apps.points.earning import first_purchase_bonus_award
    from tests.conftest import run_together

    EarningRule.objects.create(
        name="首单送 300 积分", kind="bonus", event="first_purchase", points=300
    )
    member = MemberFactory()
    order_ids = iter(range(1, 7))

    run_together(lambda: first_purchase_bonus_award(member=member, order_id=next(order_ids)), 6)

    assert points_available(member) == 300
    assert len(bonuses(member)) == 1

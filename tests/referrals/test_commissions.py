"""Commissions: written when an order is paid, frozen, released, and taken back by refunds."""

from datetime import timedelta
from decimal import Decimal as D

import pytest
from django.core.management import call_command

from apps.orders.refunds import RefundLineInput, order_refund
from apps.referrals.commissions import (
    commissions_release_due,
    commissions_reverse,
    commissions_write,
)
from apps.referrals.models import Commission, CommissionEntry, CommissionRule, Promoter
from apps.referrals.selectors import promoter_balances
from apps.referrals.verification import commission_problems
from apps.referrals.withdrawals import withdrawal_approve, withdrawal_request
from tests.mall.factories import SkuFactory
from tests.members.factories import MemberFactory
from tests.referrals.factories import customer_of, promoter_of, sale

pytestmark = pytest.mark.django_db
WEEK_ON = timedelta(days=8)


def test_a_paid_order_earns_both_levels_frozen_through_its_event(
    network, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        order = sale(network["store"], network["buyer"], [("TEE", 2, "99.99")])

    first, second = Commission.objects.filter(order=order).order_by("level")
    assert (first.promoter, first.amount, first.base, first.status) == (
        network["middle"],
        D("19.99"),  # 10% of 199.98, rounded down
        D("199.98"),
        "frozen",
    )
    assert (second.promoter, second.amount) == (network["top"], D("9.99"))
    assert first.available_on == order.paid_at + timedelta(days=7)
    assert promoter_balances(network["middle"]) == {
        "frozen": D("19.99"),
        "available": D(0),
        "debt": D(0),
    }
    assert commission_problems() == {}


def test_writing_again_changes_nothing(network):
    order = sale(network["store"], network["buyer"])
    written = commissions_write(order_id=order.pk)

    assert commissions_write(order_id=order.pk) == written
    assert CommissionEntry.objects.count() == 2
    assert commission_problems() == {}


def test_commission_is_on_what_was_paid_after_every_discount_not_points(network, settings):
    from apps.points.services import points_earn

    points_earn(
        member=network["buyer"],
        amount=2000,
        key="p",
        cause_kind="admin",
        description="t",
        pending=False,
    )
    order = sale(network["store"], network["buyer"], [("TEE", 1, "100")], points=1000)
    assert order.points_deduction == D("10.00")
    commissions_write(order_id=order.pk)
    assert Commission.objects.get(order=order, level=1).amount == D("9.00")  # 10% of 90

    settings.COMMISSION_ON_POINTS = True
    again = sale(network["store"], network["buyer"], [("TEE", 1, "100")], points=1000)
    commissions_write(order_id=again.pk)
    assert Commission.objects.get(order=again, level=1).amount == D("10.00")


def test_category_and_product_rules_and_a_fixed_amount(network):
    SkuFactory(sku="TEE", category="上衣/T恤", price=100)
    SkuFactory(sku="CAP", category="配饰", price=50)
    CommissionRule.objects.create(
        name="上衣", scope="category", category="上衣", mode="rate", level1=20, level2=0
    )
    CommissionRule.objects.create(
        name="帽子", scope="product", sku="CAP", mode="fixed", level1=D("3"), level2=D("1")
    )

    order = sale(network["store"], network["buyer"], [("TEE", 1, "100"), ("CAP", 2, "50")])
    first, second = commissions_write(order_id=order.pk)

    assert first.amount == D("26.00")  # 20% of 100, and 2 × 3 yuan
    assert list(first.lines.order_by("line__line_no").values_list("amount", flat=True)) == [
        D("20.00"),
        D("6.00"),
    ]
    assert second.amount == D("2.00")  # nothing on the T-shirt's rule, 2 × 1 yuan on the caps


def test_one_level_only_pays_the_first(network, settings):
    settings.COMMISSION_LEVELS = 1
    order = sale(network["store"], network["buyer"])

    assert [c.level for c in commissions_write(order_id=order.pk)] == [1]


def test_only_approved_promoters_earn(network):
    Promoter.objects.filter(pk=network["middle"].pk).update(status="suspended")
    order = sale(network["store"], network["buyer"])

    (second,) = commissions_write(order_id=order.pk)
    assert (second.level, second.promoter) == (2, network["top"])


def test_a_promoters_own_purchase_earns_only_when_hq_says_so(network, settings):
    own = sale(network["store"], network["middle"].member)
    # without: they are their own promoter's customer like any other
    assert [(c.level, c.promoter) for c in commissions_write(order_id=own.pk)] == [
        (1, network["top"])
    ]

    settings.COMMISSION_SELF_PURCHASE = True
    again = sale(network["store"], network["middle"].member)
    first, second = commissions_write(order_id=again.pk)
    assert (first.promoter, second.promoter) == (network["middle"], network["top"])


def test_an_order_without_a_bound_promoter_earns_nothing(network):
    order = sale(network["store"], MemberFactory())
    assert commissions_write(order_id=order.pk) == []
    assert CommissionEntry.objects.count() == 0


@pytest.mark.parametrize("self_purchase", [False, True])
def test_an_order_crediting_no_one_is_known_by_its_own_row(
    network, settings, django_assert_num_queries, self_purchase
):
    """Most sales name no promoter and no guide: their event reads the order and no more,
    unless promoters earn on their own purchases, when the buyer must be looked up."""
    settings.COMMISSION_SELF_PURCHASE = self_purchase
    order = sale(network["store"], MemberFactory())

    # and the savepoint of its transaction inside the test's, and its release
    with django_assert_num_queries((4 if self_purchase else 1) + 2):
        assert commissions_write(order_id=order.pk) == []


def test_release_after_the_window_once(network):
    order = sale(network["store"], network["buyer"])
    commissions_write(order_id=order.pk)

    assert commissions_release_due(now=order.paid_at + timedelta(days=6)) == 0
    assert commissions_release_due(now=order.paid_at + WEEK_ON) == 2
    assert commissions_release_due(now=order.paid_at + WEEK_ON) == 0
    assert promoter_balances(network["middle"]) == {
        "frozen": D(0),
        "available": D("10.00"),
        "debt": D(0),
    }
    assert commission_problems() == {}
    call_command("verify_commissions")


def test_a_refund_of_half_while_frozen_takes_half_from_frozen(network):
    order = sale(network["store"], network["buyer"], [("TEE", 2, "50")])
    commissions_write(order_id=order.pk)

    refund = order_refund(order=order, refund_id="r1", lines=[RefundLineInput("TEE", 1)])
    assert commissions_reverse(refund_id=refund.pk) == D("7.50")  # 5.00 + 2.50
    assert commissions_reverse(refund_id=refund.pk) == D(0)  # a replay takes nothing

    assert promoter_balances(network["middle"])["frozen"] == D("5.00")
    commissions_release_due(now=order.paid_at + WEEK_ON)
    assert promoter_balances(network["middle"]) == {
        "frozen": D(0),
        "available": D("5.00"),
        "debt": D(0),
    }
    assert commission_problems() == {}


def test_a_full_refund_takes_it_all_and_nothing_is_released(network):
    order = sale(network["store"], network["buyer"])
    commissions_write(order_id=order.pk)

    refund = order_refund(order=order, refund_id="r1", amount=D("100"))
    commissions_reverse(refund_id=refund.pk)

    assert set(Commission.objects.values_list("status", "reversed")) == {
        ("reversed", D("10.00")),
        ("reversed", D("5.00")),
    }
    assert commissions_release_due(now=order.paid_at + WEEK_ON) == 0
    assert commission_problems() == {}


def test_a_refund_after_withdrawal_leaves_a_debt_the_next_commission_pays_first(network):
    store, buyer, middle = network["store"], network["buyer"], network["middle"]
    order = sale(store, buyer)
    commissions_write(order_id=order.pk)
    commissions_release_due(now=order.paid_at + WEEK_ON)
    withdrawal_approve(
        withdrawal=withdrawal_request(promoter=middle, amount=D("8.00"), key="w1"), actor=None
    )

    refund = order_refund(order=order, refund_id="r1", amount=D("100"))
    commissions_reverse(refund_id=refund.pk)

    # 2.00 left available, 8.00 already withdrawn: owed, never written off
    assert promoter_balances(middle) == {"frozen": D(0), "available": D(0), "debt": D("8.00")}
    assert CommissionEntry.objects.filter(
        refund=refund, from_account__kind="debt"
    ).get().amount == (D("8.00"))
    assert commission_problems() == {}

    later = sale(store, buyer, [("TEE", 1, "150")])
    commissions_write(order_id=later.pk)
    commissions_release_due(now=later.paid_at + WEEK_ON)

    assert promoter_balances(middle) == {"frozen": D(0), "available": D("7.00"), "debt": D(0)}
    assert commission_problems() == {}


def test_a_refund_handled_before_its_order_paid_event_is_still_taken(network):
    order = sale(network["store"], network["buyer"])
    refund = order_refund(order=order, refund_id="r1", amount=D("40"))
    assert commissions_reverse(refund_id=refund.pk) == D(0)  # nothing written yet

    first, _second = commissions_write(order_id=order.pk)

    first.refresh_from_db()
    assert (first.amount, first.reversed) == (D("10.00"), D("4.00"))
    assert commission_problems() == {}


def test_a_member_bound_to_a_promoter_of_a_promoter_credits_two_levels_only(network):
    bottom = promoter_of(customer_of(network["middle"]))
    member = customer_of(bottom)

    order = sale(network["store"], member)
    assert [(c.level, c.promoter) for c in commissions_write(order_id=order.pk)] == [
        (1, bottom),
        (2, network["middle"]),
    ]


def test_verify_commissions_fails_on_a_balance_off_its_entries(network):
    from django.core.management.base import CommandError

    from apps.referrals.models import CommissionAccount

    order = sale(network["store"], network["buyer"])
    commissions_write(order_id=order.pk)
    CommissionAccount.objects.filter(promoter=network["middle"], kind="frozen").update(
        balance=D("11.00")
    )

    problems = commission_problems()
    assert set(problems) == {
        "all balances sum to zero",
        "each stored balance equals the sum of its entries",
        "each frozen account holds exactly its frozen commissions",
    }
    with pytest.raises(CommandError):
        call_command("verify_commissions")


def test_a_promoter_downloads_their_commissions_with_their_data(network):
    from apps.miniprogram.personal_data import member_export

    order = sale(network["store"], network["buyer"])
    commissions_write(order_id=order.pk)

    mine = member_export(network["middle"].member)
    assert mine["promoter"]["frozen"] == D("10.00")
    assert [(c["order_no"], c["level"], c["amount"]) for c in mine["promoter"]["commissions"]] == [
        (order.order_no, 1, D("10.00"))
    ]
    assert [b["promoter_code"] for b in mine["promoter_bindings"]] == [
        network["top"].member.referral_code
    ]
    assert member_export(network["buyer"])["promoter"] is None

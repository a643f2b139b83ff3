"""Real threads against PostgreSQL: the commission ledger holds under any interleaving."""

import itertools
from datetime import timedelta
from decimal import Decimal as D

import pytest

from apps.members.services import member_merge
from apps.orders.refunds import order_refund
from apps.referrals.commissions import (
    commissions_release_due,
    commissions_reverse,
    commissions_write,
)
from apps.referrals.errors import WithdrawalAboveAvailable, WithdrawalNotDecidable
from apps.referrals.models import CommissionEntry, Promoter, Withdrawal
from apps.referrals.selectors import promoter_balances
from apps.referrals.verification import commission_problems
from apps.referrals.withdrawals import withdrawal_approve, withdrawal_request
from tests.conftest import run_together
from tests.referrals.factories import customer_of, default_rate, promoter_of, sale
from tests.stores.factories import StoreFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def earned():
    """A promoter with 100.00 available, and the order that earned it."""
    default_rate(10, 0)
    promoter = promoter_of()
    order = sale(StoreFactory(), customer_of(promoter), [("TEE", 1, "1000")])
    commissions_write(order_id=order.pk)
    commissions_release_due(now=order.paid_at + timedelta(days=8))
    return promoter, order


def test_withdrawals_at_once_never_take_more_than_is_available(earned):
    promoter, _order = earned
    keys = itertools.count()

    def withdraw():
        try:
            withdrawal_request(promoter=promoter, amount=D("30.00"), key=f"w{next(keys)}")
            return "ok"
        except WithdrawalAboveAvailable:
            return "refused"

    results = run_together(withdraw, 8)

    assert results.count("ok") == 3 and results.count("refused") == 5  # 3 × 30 ≤ 100
    assert promoter_balances(promoter)["available"] == D("10.00")
    assert commission_problems() == {}


def test_one_key_sent_at_once_asks_once(earned):
    promoter, _order = earned

    run_together(lambda: withdrawal_request(promoter=promoter, amount=D("50.00"), key="same"), 6)

    assert Withdrawal.objects.count() == 1
    assert promoter_balances(promoter)["available"] == D("50.00")
    assert commission_problems() == {}


def test_approvals_at_once_pay_once(earned):
    promoter, _order = earned
    withdrawal = withdrawal_request(promoter=promoter, amount=D("40.00"), key="w")

    def approve():
        try:
            return withdrawal_approve(withdrawal=withdrawal, actor=None).status
        except WithdrawalNotDecidable:
            return "decided"

    results = run_together(approve, 5)

    assert sorted(results) == ["decided"] * 4 + ["paid"]
    assert CommissionEntry.objects.filter(withdrawal=withdrawal, kind="pay").count() == 1
    assert commission_problems() == {}


def test_a_refund_racing_a_release_leaves_the_books_right():
    default_rate(10, 5)
    top = promoter_of()
    middle = promoter_of(customer_of(top))
    buyer = customer_of(middle)
    store = StoreFactory()
    orders = [sale(store, buyer, [("TEE", 2, "50")]) for _ in range(4)]
    for order in orders:
        commissions_write(order_id=order.pk)
    refunds = [order_refund(order=order, refund_id="r", amount=D("50")) for order in orders]
    due = orders[-1].paid_at + timedelta(days=8)
    jobs = iter([("release", None)] * 2 + [("refund", refund) for refund in refunds])

    def work():
        job, refund = next(jobs)
        if job == "release":
            return commissions_release_due(now=due)
        return commissions_reverse(refund_id=refund.pk)

    run_together(work, 6)

    # whichever came first, half of each order's commission is taken back and the rest is
    # available: 4 × 5.00 to the first level, 4 × 2.50 to the second
    assert promoter_balances(middle) == {"frozen": D(0), "available": D("20.00"), "debt": D(0)}
    assert promoter_balances(top) == {"frozen": D(0), "available": D("10.00"), "debt": D(0)}
    assert commission_problems() == {}


def test_a_member_merge_racing_releases_and_refunds_leaves_the_books_right():
    default_rate(10, 0)
    survivor, merged = promoter_of(), promoter_of()
    buyer = customer_of(merged)
    store = StoreFactory()
    orders = [sale(store, buyer, [("TEE", 2, "50")]) for _ in range(4)]
    for order in orders:
        commissions_write(order_id=order.pk)
    refunds = [order_refund(order=order, refund_id="r", amount=D("50")) for order in orders[:3]]
    due = orders[-1].paid_at + timedelta(days=8)
    jobs = iter([("merge", None), ("release", None)] + [("refund", refund) for refund in refunds])

    def work():
        job, refund = next(jobs)
        if job == "merge":
            return member_merge(
                survivor=survivor.member, merged=merged.member, actor=None, reason="同一人"
            )
        if job == "release":
            return commissions_release_due(now=due)
        return commissions_reverse(refund_id=refund.pk)

    run_together(work, 5)

    # whichever came first, every fen is the survivor's: 4 × 10.00 less 3 × 5.00 taken back
    assert Promoter.objects.get(pk=merged.pk).status == Promoter.Status.MERGED
    assert promoter_balances(merged) == {"frozen": D(0), "available": D(0), "debt": D(0)}
    assert promoter_balances(survivor) == {"frozen": D(0), "available": D("25.00"), "debt": D(0)}
    assert commission_problems() == {}

"""Random sequences of orders, partial and full refunds, releases and withdrawals keep the
commission ledger whole: verify_commissions holds after every step."""

import uuid
from datetime import timedelta
from decimal import Decimal as D

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from apps.core.errors import DomainError
from apps.orders.models import Order
from apps.orders.refunds import order_refund
from apps.referrals.commissions import (
    commissions_release_due,
    commissions_reverse,
    commissions_write,
)
from apps.referrals.models import CommissionRule, Withdrawal
from apps.referrals.selectors import promoter_balances
from apps.referrals.verification import commission_problems
from apps.referrals.withdrawals import (
    withdrawal_approve,
    withdrawal_refuse,
    withdrawal_request,
)
from tests.referrals.factories import customer_of, default_rate, promoter_of, sale
from tests.stores.factories import StoreFactory

steps = st.lists(
    st.tuples(
        st.sampled_from(
            [
                "order",
                "order",
                "refund",
                "refund",
                "release",
                "withdraw",
                "cash_out",
                "approve",
                "refuse",
            ]
        ),
        st.integers(min_value=0, max_value=9),  # which one
        st.integers(min_value=1, max_value=100),  # how much (a price, a percentage)
    ),
    min_size=3,
    max_size=16,
)


@pytest.mark.django_db
@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=steps)
# a withdrawal paid out, then a refund: a debt, paid by the next commission
@example(
    steps=[
        ("order", 1, 90),
        ("release", 0, 90),
        ("cash_out", 0, 1),
        ("refund", 0, 100),
        ("order", 1, 50),
        ("release", 0, 90),
    ]
)
# a withdrawal waiting, then a refund: a debt, paid when the withdrawal is refused
@example(
    steps=[
        ("order", 1, 90),
        ("release", 0, 90),
        ("withdraw", 0, 60),
        ("refund", 0, 100),
        ("refuse", 0, 1),
    ]
)
def test_any_sequence_keeps_the_commission_ledger_whole(steps):
    run = uuid.uuid4().hex[:8]  # examples share the test's database
    store = StoreFactory()
    if not CommissionRule.objects.exists():
        default_rate(10, 5)
    top = promoter_of()
    middle = promoter_of(customer_of(top))
    promoters = [top, middle]
    buyers = [customer_of(middle), customer_of(top)]
    orders: list[Order] = []
    day = timezone.now()
    for number, (action, which, how_much) in enumerate(steps):
        day += timedelta(days=2)
        if action == "order":
            order = sale(
                store, buyers[which % 2], [("TEE", 1 + which % 3, f"{how_much}.37")], now=day
            )
            commissions_write(order_id=order.pk, now=day)
            orders.append(order)
        elif action == "refund" and orders:
            order = Order.objects.get(pk=orders[which % len(orders)].pk)
            left = order.paid_amount - order.refunded_amount
            if left > 0:
                amount = max(D("0.01"), (left * how_much / 100).quantize(D("0.01")))
                refund = order_refund(order=order, refund_id=f"{run}-{number}", amount=amount)
                commissions_reverse(refund_id=refund.pk, now=day)
        elif action == "release":  # all, or only those past their window by now
            commissions_release_due(now=day + timedelta(days=8 if how_much > 20 else 0))
        elif action in ("withdraw", "cash_out"):  # a part, or all of it paid out at once
            promoter = promoters[which % 2]
            available = promoter_balances(promoter)["available"]
            part = 100 if action == "cash_out" else how_much
            amount = max(D("1.00"), (available * part / 100).quantize(D("0.01")))
            try:
                withdrawal = withdrawal_request(
                    promoter=promoter, amount=amount, key=f"{run}-{number}"
                )
            except DomainError:
                withdrawal = None
            if withdrawal is not None and action == "cash_out":
                withdrawal_approve(withdrawal=withdrawal, actor=None)
        elif action in ("approve", "refuse"):
            waiting = Withdrawal.objects.filter(promoter__in=promoters, status="requested").first()
            if waiting is not None:
                if action == "approve":
                    withdrawal_approve(withdrawal=waiting, actor=None)
                else:
                    withdrawal_refuse(withdrawal=waiting, actor=None, reason="测试")
        assert commission_problems() == {}, (number, action)
        for promoter in promoters:
            money = promoter_balances(promoter)
            assert money["frozen"] >= 0 and money["available"] >= 0 and money["debt"] >= 0
            assert money["debt"] == 0 or money["available"] == 0
            if money["debt"]:
                event("a promoter in debt")

"""Withdrawals: the limits HQ sets, finance's decisions, and the payout backend."""

from datetime import timedelta
from decimal import Decimal as D

import pytest

from apps.core.models import AuditEntry
from apps.referrals.commissions import commissions_release_due, commissions_write
from apps.referrals.errors import (
    PayoutFailed,
    PayoutsOff,
    WithdrawalAboveAvailable,
    WithdrawalBelowMinimum,
    WithdrawalDailyCount,
    WithdrawalDailyLimit,
    WithdrawalInDebt,
    WithdrawalKeyReused,
    WithdrawalNotDecidable,
)
from apps.referrals.models import CommissionAccount, CommissionEntry, Withdrawal
from apps.referrals.payouts import SandboxPayoutBackend
from apps.referrals.selectors import promoter_balances
from apps.referrals.verification import commission_problems
from apps.referrals.withdrawals import (
    withdrawal_approve,
    withdrawal_pay_out,
    withdrawal_refuse,
    withdrawal_request,
)
from tests.core.factories import UserFactory
from tests.referrals.factories import customer_of, default_rate, promoter_of, sale
from tests.stores.factories import StoreFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def promoter(db):
    """A promoter with 100.00 available."""
    default_rate(10, 0)
    promoter = promoter_of()
    order = sale(StoreFactory(), customer_of(promoter), [("TEE", 1, "1000")])
    commissions_write(order_id=order.pk)
    commissions_release_due(now=order.paid_at + timedelta(days=8))
    return promoter


def test_a_request_sets_the_money_aside_and_approval_pays_it_less_the_fee(promoter, settings):
    settings.WITHDRAWAL_FEE_PERCENT = D("1")
    finance = UserFactory()

    withdrawal = withdrawal_request(promoter=promoter, amount=D("50.00"), key="k1")
    assert (withdrawal.status, withdrawal.fee, withdrawal.net) == (
        "requested",
        D("0.50"),
        D("49.50"),
    )
    assert promoter_balances(promoter)["available"] == D("50.00")

    paid = withdrawal_approve(withdrawal=withdrawal, actor=finance)

    assert (paid.status, paid.decided_by, paid.payout_ref) == (
        "paid",
        finance,
        f"SANDBOX-W{withdrawal.pk:012d}",
    )
    assert CommissionAccount.objects.get(kind="paid_out").balance == D("49.50")
    assert set(
        AuditEntry.objects.filter(action__startswith="withdrawal.").values_list("action", flat=True)
    ) == {"withdrawal.approved", "withdrawal.paid"}
    assert commission_problems() == {}


def test_with_payouts_off_finance_cannot_approve_and_nothing_changes(promoter, settings):
    settings.PAYOUT_BACKEND = ""  # a production site with no real payout backend yet
    withdrawal = withdrawal_request(promoter=promoter, amount=D("50.00"), key="k1")
    before = list(CommissionEntry.objects.values_list("pk", flat=True))

    with pytest.raises(PayoutsOff) as refused:
        withdrawal_approve(withdrawal=withdrawal, actor=UserFactory())

    withdrawal.refresh_from_db()
    assert refused.value.code == "payouts_off" and withdrawal.status == "requested"
    assert list(CommissionEntry.objects.values_list("pk", flat=True)) == before
    assert not AuditEntry.objects.filter(action="withdrawal.approved").exists()


def test_a_replayed_key_answers_the_first_request(promoter):
    first = withdrawal_request(promoter=promoter, amount=D("20.00"), key="k")

    assert withdrawal_request(promoter=promoter, amount=D("20.00"), key="k") == first
    with pytest.raises(WithdrawalKeyReused):
        withdrawal_request(promoter=promoter, amount=D("30.00"), key="k")
    assert Withdrawal.objects.count() == 1


@pytest.mark.parametrize(
    ("amount", "error"),
    [(D("0.99"), WithdrawalBelowMinimum), (D("100.01"), WithdrawalAboveAvailable)],
)
def test_below_the_minimum_or_above_what_is_available_is_refused(promoter, amount, error):
    with pytest.raises(error):
        withdrawal_request(promoter=promoter, amount=amount, key="k")
    assert not Withdrawal.objects.exists()
    assert promoter_balances(promoter)["available"] == D("100.00")


def test_a_daily_limit(promoter, settings):
    settings.WITHDRAWAL_DAILY_MOST = D("60")
    withdrawal_request(promoter=promoter, amount=D("40.00"), key="k1")

    with pytest.raises(WithdrawalDailyLimit) as refused:
        withdrawal_request(promoter=promoter, amount=D("30.00"), key="k2")
    assert refused.value.params == {"most": D("60"), "left": D("20.00")}
    assert withdrawal_request(promoter=promoter, amount=D("20.00"), key="k3").amount == D("20.00")


def test_a_daily_count(promoter, settings):
    settings.WITHDRAWAL_DAILY_COUNT = 2
    first = withdrawal_request(promoter=promoter, amount=D("10.00"), key="k1")
    withdrawal_request(promoter=promoter, amount=D("10.00"), key="k2")

    with pytest.raises(WithdrawalDailyCount) as refused:
        withdrawal_request(promoter=promoter, amount=D("10.00"), key="k3")
    assert refused.value.params == {"most": 2}
    assert Withdrawal.objects.count() == 2
    assert promoter_balances(promoter)["available"] == D("80.00")
    # a replay of one already asked is no new withdrawal; a refused one no longer counts
    assert withdrawal_request(promoter=promoter, amount=D("10.00"), key="k1") == first
    withdrawal_refuse(withdrawal=first, actor=UserFactory(), reason="no")
    assert withdrawal_request(promoter=promoter, amount=D("10.00"), key="k3").status == "requested"
    # the next day starts again
    tomorrow = first.requested_at + timedelta(days=1)
    withdrawal_request(promoter=promoter, amount=D("10.00"), key="k4", now=tomorrow)


def test_none_while_in_debt(promoter):
    CommissionAccount.objects.filter(promoter=promoter, kind="debt").update(balance=D("-1"))

    with pytest.raises(WithdrawalInDebt):
        withdrawal_request(promoter=promoter, amount=D("10.00"), key="k")
    assert not Withdrawal.objects.exists()


def test_a_refusal_gives_the_money_back_and_is_final(promoter):
    finance = UserFactory()
    withdrawal = withdrawal_request(promoter=promoter, amount=D("30.00"), key="k")

    withdrawal_refuse(withdrawal=withdrawal, actor=finance, reason="信息不符")

    assert promoter_balances(promoter)["available"] == D("100.00")
    with pytest.raises(WithdrawalNotDecidable):
        withdrawal_approve(withdrawal=withdrawal, actor=finance)
    assert not CommissionEntry.objects.filter(kind="pay").exists()
    assert AuditEntry.objects.get(action="withdrawal.refused").reason == "信息不符"
    assert commission_problems() == {}


def test_a_payout_the_gateway_refuses_gives_the_money_back(promoter, monkeypatch):
    def refuse(self, **_):
        raise PayoutFailed("openid unknown")

    monkeypatch.setattr(SandboxPayoutBackend, "transfer", refuse)
    withdrawal = withdrawal_request(promoter=promoter, amount=D("30.00"), key="k")

    failed = withdrawal_approve(withdrawal=withdrawal, actor=UserFactory())

    assert (failed.status, failed.reason) == ("failed", "openid unknown")
    assert promoter_balances(promoter)["available"] == D("100.00")
    assert commission_problems() == {}


def test_a_payout_cut_off_stays_approved_and_paying_again_pays_once(promoter, monkeypatch):
    withdrawal = withdrawal_request(promoter=promoter, amount=D("30.00"), key="k")
    real = SandboxPayoutBackend.transfer

    def cut_off(self, **_):
        raise ConnectionError("gateway timed out")

    monkeypatch.setattr(SandboxPayoutBackend, "transfer", cut_off)
    with pytest.raises(ConnectionError):
        withdrawal_approve(withdrawal=withdrawal, actor=None)
    withdrawal.refresh_from_db()
    assert withdrawal.status == "approved"
    assert not CommissionEntry.objects.filter(kind="pay").exists()

    monkeypatch.setattr(SandboxPayoutBackend, "transfer", real)
    assert withdrawal_pay_out(withdrawal=withdrawal).status == "paid"
    # a stale copy asks the gateway again under the same reference, and records nothing more
    assert withdrawal_pay_out(withdrawal=withdrawal).status == "paid"
    assert CommissionEntry.objects.filter(withdrawal=withdrawal, kind="pay").count() == 1
    assert commission_problems() == {}

"""A member merge in distribution: the person keeps one promoter record and everything it
earned, once — balances carried over by merge entries, debts too, withdrawals in flight
handed over, customers re-pointed, and no member their own promoter."""

from datetime import timedelta
from decimal import Decimal as D

import pytest
from django.utils import timezone

from apps.core.models import AuditEntry
from apps.members.attribution import promoters_for
from apps.members.models import PromoterBinding
from apps.members.services import member_merge
from apps.orders.refunds import order_refund
from apps.referrals.commissions import (
    commissions_release_due,
    commissions_reverse,
    commissions_write,
)
from apps.referrals.errors import PayoutAwaitsConfirmation, PayoutFailed
from apps.referrals.merging import promoters_merge
from apps.referrals.models import Commission, CommissionEntry, Promoter
from apps.referrals.payouts import PayoutBackend
from apps.referrals.selectors import promoter_balances
from apps.referrals.verification import commission_problems
from apps.referrals.withdrawals import (
    withdrawal_approve,
    withdrawal_refuse,
    withdrawal_request,
    withdrawals_pay_out_due,
)
from tests.core.factories import UserFactory
from tests.members.factories import MemberFactory
from tests.referrals.factories import customer_of, default_rate, promoter_of, sale
from tests.stores.factories import StoreFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def store(db):
    default_rate(10, 0)
    return StoreFactory()


def earn(store, promoter, amount, *, released=False):
    """A customer of `promoter` buys for `amount`: 10% frozen, or available once released."""
    order = sale(store, customer_of(promoter), [("TEE", 1, amount)])
    commissions_write(order_id=order.pk)
    if released:
        commissions_release_due(now=order.paid_at + timedelta(days=8))
    return order


def merge(survivor, merged, capture):
    with capture(execute=True):
        return member_merge(survivor=survivor, merged=merged, actor=UserFactory(), reason="同一人")


def money(promoter):
    return promoter_balances(Promoter.objects.get(pk=promoter.pk))


def test_two_promoters_become_one_with_every_fen_carried_over(
    store, django_capture_on_commit_callbacks
):
    survivor, merged = promoter_of(), promoter_of()
    earn(store, survivor, "100", released=True)
    earn(store, merged, "300", released=True)  # 30.00 available
    frozen_order = earn(store, merged, "200")  # 20.00 frozen
    asked = withdrawal_request(promoter=merged, amount=D("10.00"), key="k1")
    customer = PromoterBinding.objects.filter(promoter=merged.member).first().member
    history = list(CommissionEntry.objects.filter(promoter=merged).values_list("pk", "amount"))

    merge(survivor.member, merged.member, django_capture_on_commit_callbacks)

    merged.refresh_from_db()
    assert (merged.status, merged.merged_into) == (Promoter.Status.MERGED, survivor)
    assert money(merged) == {"frozen": 0, "available": 0, "debt": 0}
    assert money(survivor) == {"frozen": D("20.00"), "available": D("30.00"), "debt": 0}
    # history stays: the merged record's entries are untouched, merge entries carry it over
    assert (
        list(CommissionEntry.objects.filter(promoter=merged).values_list("pk", "amount")) == history
    )
    assert sorted(
        CommissionEntry.objects.filter(kind="merge").values_list("from_account__kind", "amount")
    ) == [("available", D("20.00")), ("frozen", D("20.00"))]
    assert set(Commission.objects.values_list("promoter", flat=True)) == {survivor.pk}
    asked.refresh_from_db()
    assert (asked.promoter, asked.key) == (survivor, f"merged-{merged.pk}:k1")
    assert promoters_for(customer, timezone.now())[0] == survivor.member_id
    assert AuditEntry.objects.filter(action="promoter.merge", target_id=str(survivor.pk)).exists()
    assert commission_problems() == {}

    # what happens to the merged one's money later lands on the survivor's
    withdrawal_refuse(withdrawal=asked, actor=UserFactory(), reason="同一人")
    commissions_release_due(now=frozen_order.paid_at + timedelta(days=8))
    assert money(survivor) == {"frozen": 0, "available": D("60.00"), "debt": 0}
    assert commission_problems() == {}

    # a second delivery of the event changes nothing
    promoters_merge(survivor_id=survivor.member_id, merged_id=merged.member_id)
    assert CommissionEntry.objects.filter(kind="merge").count() == 2


class UnconfirmedPayoutBackend(PayoutBackend):
    """A gateway waiting for the member to confirm receipt, until it `cancelled` it."""

    cancelled = False

    def transfer(self, *, reference, openid, amount, description, package_held=False):
        if self.cancelled:
            raise PayoutFailed("WeChat Pay CANCELLED")
        raise PayoutAwaitsConfirmation(f"PKG-{reference}")


def test_a_withdrawal_awaiting_confirmation_is_handed_over_and_comes_back_to_the_survivor(
    store, django_capture_on_commit_callbacks, settings, monkeypatch
):
    settings.PAYOUT_BACKEND = f"{__name__}.UnconfirmedPayoutBackend"
    survivor, merged = promoter_of(), promoter_of()
    earn(store, merged, "300", released=True)  # 30.00 available
    asked = withdrawal_request(promoter=merged, amount=D("10.00"), key="k1")
    assert withdrawal_approve(withdrawal=asked, actor=UserFactory()).status == "confirming"

    merge(survivor.member, merged.member, django_capture_on_commit_callbacks)

    asked.refresh_from_db()
    assert (asked.promoter, asked.status) == (survivor, "confirming")
    monkeypatch.setattr(UnconfirmedPayoutBackend, "cancelled", True)
    assert withdrawals_pay_out_due() == 1
    assert money(survivor) == {"frozen": 0, "available": D("30.00"), "debt": 0}
    assert commission_problems() == {}


def test_a_promoter_merged_into_a_non_promoter_hands_over_the_whole_record(
    store, django_capture_on_commit_callbacks
):
    merged = promoter_of()
    earn(store, merged, "300", released=True)
    customer = PromoterBinding.objects.filter(promoter=merged.member).first().member
    survivor = MemberFactory()
    entries = CommissionEntry.objects.count()

    merge(survivor, merged.member, django_capture_on_commit_callbacks)

    merged.refresh_from_db()
    assert (merged.member, merged.status) == (survivor, Promoter.Status.APPROVED)
    assert money(merged)["available"] == D("30.00")
    assert CommissionEntry.objects.count() == entries  # nothing moved in the ledger
    assert promoters_for(customer, timezone.now())[0] == survivor.pk
    assert AuditEntry.objects.filter(action="promoter.merge").count() == 1
    assert commission_problems() == {}


def test_a_non_promoter_merged_into_a_promoter_changes_nothing(
    store, django_capture_on_commit_callbacks
):
    survivor = promoter_of()
    earn(store, survivor, "100", released=True)

    merge(survivor.member, MemberFactory(), django_capture_on_commit_callbacks)

    assert money(survivor)["available"] == D("10.00")
    assert not CommissionEntry.objects.filter(kind="merge").exists()
    assert commission_problems() == {}


def test_a_debt_is_carried_over_and_paid_first_from_what_is_available(
    store, django_capture_on_commit_callbacks
):
    survivor, merged = promoter_of(), promoter_of()
    earn(store, survivor, "500", released=True)  # 50.00 available
    order = earn(store, merged, "300", released=True)
    paid = withdrawal_request(promoter=merged, amount=D("30.00"), key="out")
    withdrawal_approve(withdrawal=paid, actor=UserFactory())  # withdrawn, then refunded:
    refund = order_refund(order=order, refund_id="r1", amount=order.paid_amount)
    commissions_reverse(refund_id=refund.pk)
    assert money(merged)["debt"] == D("30.00")

    merge(survivor.member, merged.member, django_capture_on_commit_callbacks)

    assert money(merged) == {"frozen": 0, "available": 0, "debt": 0}
    assert money(survivor) == {"frozen": 0, "available": D("20.00"), "debt": 0}
    assert CommissionEntry.objects.filter(kind="merge", to_account__kind="debt").get().amount == D(
        "30.00"
    )
    assert commission_problems() == {}


def test_a_debt_with_nothing_available_stays_owed_by_the_survivor(
    store, django_capture_on_commit_callbacks
):
    survivor, merged = promoter_of(), promoter_of()
    order = earn(store, merged, "300", released=True)
    withdrawal_request(promoter=merged, amount=D("30.00"), key="out")
    refund = order_refund(order=order, refund_id="r1", amount=order.paid_amount)
    commissions_reverse(refund_id=refund.pk)
    later = earn(store, survivor, "100")  # 10.00 frozen: pays the debt when released

    merge(survivor.member, merged.member, django_capture_on_commit_callbacks)

    assert money(survivor) == {"frozen": D("10.00"), "available": 0, "debt": D("30.00")}
    commissions_release_due(now=later.paid_at + timedelta(days=8))
    assert money(survivor) == {"frozen": 0, "available": 0, "debt": D("20.00")}
    assert commission_problems() == {}


def test_the_survivor_bound_to_the_merged_promoter_is_bound_to_no_one(
    store, django_capture_on_commit_callbacks
):
    merged = promoter_of()
    survivor = customer_of(merged)  # the person's other account, bound to the first

    merge(survivor, merged.member, django_capture_on_commit_callbacks)

    assert promoters_for(survivor, timezone.now()) == (None, None)
    assert not PromoterBinding.objects.filter(member=survivor, replaced_at__isnull=True).exists()
    assert not PromoterBinding.objects.filter(member=survivor, promoter=survivor).exists()
    order = sale(store, survivor, [("TEE", 1, "100")])
    assert commissions_write(order_id=order.pk) == []  # no commission on their own purchase


def test_a_survivor_bound_to_the_merged_ones_downline_is_unbound(
    store, django_capture_on_commit_callbacks
):
    """M brought P; the person's other account S was brought by P: once M is S, S would be
    P's promoter and P S's. S's own binding ends; P stays S's customer."""
    merged = promoter_of()
    downline = promoter_of(customer_of(merged))
    survivor = promoter_of(customer_of(downline))

    merge(survivor.member, merged.member, django_capture_on_commit_callbacks)

    now = timezone.now()
    assert promoters_for(survivor.member, now) == (None, None)
    assert promoters_for(downline.member, now) == (survivor.member_id, None)
    assert commission_problems() == {}


def test_an_order_placed_before_the_merge_earns_the_survivor(
    store, django_capture_on_commit_callbacks
):
    survivor, merged = promoter_of(), promoter_of()
    order = sale(store, customer_of(merged), [("TEE", 1, "100")])  # its event not yet handled

    merge(survivor.member, merged.member, django_capture_on_commit_callbacks)
    commissions_write(order_id=order.pk)

    assert order.commissions.get().promoter == survivor
    assert money(survivor)["frozen"] == D("10.00")
    assert commission_problems() == {}


def test_the_merged_ones_downline_and_their_customers_follow_the_survivor(
    store, django_capture_on_commit_callbacks
):
    survivor, merged = promoter_of(), promoter_of()
    downline = promoter_of(customer_of(merged))
    customer = customer_of(downline)

    merge(survivor.member, merged.member, django_capture_on_commit_callbacks)

    now = timezone.now()
    assert promoters_for(downline.member, now) == (survivor.member_id, None)
    assert promoters_for(customer, now) == (downline.member_id, survivor.member_id)
    order = sale(store, customer, [("TEE", 1, "100")])
    earned = {c.level: c.promoter for c in commissions_write(order_id=order.pk)}
    assert earned == {1: downline}  # the rule here pays level 1 only


def test_a_commission_written_for_the_merged_record_while_the_merge_runs_goes_with_its_money(
    store, monkeypatch, django_capture_on_commit_callbacks
):
    """Review h27 (10): commissions_write, having read the order's promoter before the member
    merge committed, writes for the merged record after the merge listed its commissions and
    before it locked the accounts: the commission's frozen money moves to the survivor, so
    the commission must too, or the next release or refund finds nothing where it is."""
    from apps.referrals import commissions, merging

    survivor, merged = promoter_of(), promoter_of()
    order = sale(store, customer_of(merged), [("TEE", 1, "200")])
    with django_capture_on_commit_callbacks(execute=False):  # member_merged not handled yet
        member_merge(survivor=survivor.member, merged=merged.member, actor=None, reason="同一人")
    hand_over = merging._withdrawals_hand_over
    calls = []

    def written_meanwhile(*args):
        if not calls:  # between the commissions' snapshot and the accounts' lock
            with monkeypatch.context() as stale:  # the order's promoter read before the merge
                stale.setattr(commissions, "_live_on", lambda ids: ids)
                commissions_write(order_id=order.pk)
        calls.append(args)
        hand_over(*args)

    monkeypatch.setattr(merging, "_withdrawals_hand_over", written_meanwhile)
    promoters_merge(survivor_id=survivor.member_id, merged_id=merged.member_id)

    assert order.commissions.get().promoter_id == survivor.pk
    assert money(survivor) == {"frozen": D("20.00"), "available": 0, "debt": 0}
    assert commission_problems() == {}
    commissions_release_due(now=order.paid_at + timedelta(days=8))
    assert money(survivor) == {"frozen": 0, "available": D("20.00"), "debt": 0}
    assert commission_problems() == {}


def test_a_commission_whose_promoter_merged_before_its_accounts_were_locked_goes_to_the_survivor(
    store, monkeypatch, django_capture_on_commit_callbacks
):
    """commissions_write read the order's promoter before the member merge committed, and
    the promoters' merge committed before it locked the accounts: the merged record is
    closed and its money carried over, so the commission goes to the survivor, not to it."""
    from apps.referrals import commissions

    survivor, merged = promoter_of(), promoter_of()
    order = sale(store, customer_of(merged), [("TEE", 1, "200")])
    with django_capture_on_commit_callbacks(execute=False):  # member_merged not handled yet
        member_merge(survivor=survivor.member, merged=merged.member, actor=None, reason="同一人")
    live_on, lock = commissions._live_on, commissions.accounts_lock
    stale = [True]

    def read_before_the_merge(ids):
        return ids if stale else live_on(ids)

    def merged_meanwhile(*args, **kwargs):
        if stale:
            stale.clear()
            promoters_merge(survivor_id=survivor.member_id, merged_id=merged.member_id)
        return lock(*args, **kwargs)

    monkeypatch.setattr(commissions, "_live_on", read_before_the_merge)
    monkeypatch.setattr(commissions, "accounts_lock", merged_meanwhile)
    commissions_write(order_id=order.pk)

    assert order.commissions.get().promoter_id == survivor.pk
    assert money(survivor) == {"frozen": D("20.00"), "available": 0, "debt": 0}
    assert money(merged) == {"frozen": 0, "available": 0, "debt": 0}
    assert commission_problems() == {}

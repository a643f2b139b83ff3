"""Real threads against PostgreSQL: the referral job run several times at once gives each
reward once and keeps a referrer's limits."""

import threading
import time
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from apps.orders.models import Order
from apps.orders.refunds import order_refund
from apps.points.models import Entry
from apps.points.verification import ledger_problems
from apps.referrals import rewards
from apps.referrals.clawback import referral_rewards_claw_back
from apps.referrals.models import Referral, ReferralReward, ReferralRule
from apps.referrals.rewards import referral_first_order, referral_record, referral_rewards_give_due
from apps.referrals.verification import commission_problems
from apps.tiers.models import GrowthEntry
from tests.conftest import run_together
from tests.members.factories import MemberFactory
from tests.referrals.factories import sale
from tests.stores.factories import StoreFactory

pytestmark = pytest.mark.django_db(transaction=True)


def due_referrals(referrers, each: int) -> list[Referral]:
    store = StoreFactory()
    made = []
    for referrer in referrers:
        for _ in range(each):
            friend = MemberFactory(referrer=referrer)
            referral = referral_record(referee_id=friend.pk, referrer_id=referrer.pk)
            order = sale(store, friend, now=timezone.now() - timedelta(days=8))
            referral_first_order(order_id=order.pk)
            made.append(referral)
    return made


def test_the_job_run_four_times_at_once_rewards_each_referral_once():
    ReferralRule.objects.create(
        name="老带新", referrer_points=100, referrer_growth=5, referee_points=50, daily_limit=3
    )
    referrers = [MemberFactory() for _ in range(3)]
    due_referrals(referrers, 4)

    run_together(lambda: referral_rewards_give_due(batch=2), 4)

    # each referrer's daily limit of 3 held across the runs; every friend rewarded
    assert ReferralReward.objects.filter(side="referee").count() == 9
    for referrer in referrers:
        assert ReferralReward.objects.filter(side="referrer", member=referrer).count() == 3
        points = Entry.objects.filter(member=referrer, cause_kind="referral")
        assert sum(points.values_list("amount", flat=True)) == 300
    assert Referral.objects.filter(status="rewarded").count() == 9
    assert Referral.objects.filter(status="ordered").count() == 3
    assert GrowthEntry.objects.filter(cause_kind="referral").count() == 9

    run_together(lambda: referral_rewards_give_due(batch=2), 4)  # again: nothing more today
    assert ReferralReward.objects.count() == 18


def _referral_lock_awaited() -> bool:
    """Whether another connection waits for a referral's row lock (the claw-back's)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
            " AND query ILIKE %s AND pid <> pg_backend_pid()",
            [f"%{Referral._meta.db_table}%FOR UPDATE%"],
        )
        return cursor.fetchone()[0] > 0


def test_a_refund_committed_while_the_job_writes_the_rewards_takes_them_back(monkeypatch):
    """Review h27 (5): HQ refunds the first order in full while a batch of the reward job
    writes that referral's rewards. The claw-back must wait for the batch (the referral's
    lock) and take back what it gave, never read the referral as still 'ordered' and stop."""
    ReferralRule.objects.create(name="老带新", referrer_points=100, referee_points=50)
    (referral,) = due_referrals([MemberFactory()], 1)
    writing, refunded = threading.Event(), threading.Event()
    reward = rewards._reward

    def written_slowly(*args):
        if not writing.is_set():  # the order's refunds were read: the refund comes now
            writing.set()
            for _ in range(1000):  # until the claw-back waits for this batch, or is done
                if refunded.is_set() or _referral_lock_awaited():
                    break
                time.sleep(0.01)
        return reward(*args)

    monkeypatch.setattr(rewards, "_reward", written_slowly)

    def job_or_refund(which: list):
        if which.pop() == "job":
            return referral_rewards_give_due()
        writing.wait(timeout=10)
        order = Order.objects.get(pk=Referral.objects.get(pk=referral.pk).first_order_id)
        made = order_refund(order=order, refund_id="R1", amount=order.paid_amount)
        referral_rewards_claw_back(refund_id=made.pk)  # as order_refunded's handler does
        refunded.set()
        return made

    run_together(job_or_refund, 2, ["job", "refund"])

    referral.refresh_from_db()
    assert referral.status == "rewarded"
    given = ReferralReward.objects.filter(referral=referral)
    assert given.count() == 2
    assert not given.filter(clawed_back_at__isnull=True).exists(), "rewards kept after a refund"
    assert sum(given.values_list("points_back", flat=True)) == 150
    assert ledger_problems() == {}
    assert commission_problems() == {}

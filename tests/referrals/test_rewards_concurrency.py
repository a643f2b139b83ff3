"""Real threads against PostgreSQL: the referral job run several times at once gives each
reward once and keeps a referrer's limits."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.points.models import Entry
from apps.referrals.models import Referral, ReferralReward, ReferralRule
from apps.referrals.rewards import referral_first_order, referral_record, referral_rewards_give_due
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

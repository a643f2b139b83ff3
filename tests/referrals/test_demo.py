"""seed_demo's distribution: promoters in S001–S003, commissions in every state, one debt."""

from io import StringIO

import pytest
from django.core.management import call_command

from apps.referrals.models import (
    Commission,
    CommissionEntry,
    Promoter,
    Referral,
    ReferralFlag,
    ReferralReward,
    ReferralRule,
    Withdrawal,
)
from apps.referrals.selectors import promoter_balances
from apps.referrals.verification import commission_problems

pytestmark = pytest.mark.django_db


def seed() -> str:
    out = StringIO()
    call_command("seed_demo", "--members", "30", stdout=out)
    return out.getvalue()


def test_demo_promoters_have_commissions_in_every_state_and_one_a_debt():
    output = seed()

    promoters = {
        p.store.code: p
        for p in Promoter.objects.filter(member__isnull=False, status="approved").select_related(
            "store"
        )
    }
    assert set(promoters) == {"S001", "S002", "S003"}
    # a guide of S001 earned as its promoter; an application waits for S001's owner
    guide = Promoter.objects.get(guide__isnull=False)
    assert guide.store.code == "S001" and guide.commissions.exists()
    assert Promoter.objects.get(status="applied").store.code == "S001"
    assert set(Commission.objects.values_list("status", flat=True)) == {
        "frozen",
        "available",
        "reversed",
    }
    assert Commission.objects.filter(status="available", reversed__gt=0).exists()  # half back
    assert promoter_balances(promoters["S001"])["debt"] > 0
    assert set(Withdrawal.objects.values_list("status", flat=True)) == {"paid", "requested"}
    assert "Distribution: a promoter with customers in S001" in output
    assert commission_problems() == {}

    entries = CommissionEntry.objects.count()
    seed()
    assert CommissionEntry.objects.count() == entries


def test_demo_member_has_friends_rewarded_pending_and_flagged():
    output = seed()
    rewards = ReferralReward.objects.count()

    friends = Referral.objects.filter(referee__phone__startswith="138000001")
    assert sorted(friends.values_list("status", flat=True)) == [
        "ordered",
        "rewarded",
        "rewarded",
        "waiting",
    ]
    assert rewards == 4  # both sides of two referrals
    flagged = ReferralFlag.objects.get(cleared_at=None)
    assert (flagged.referral.status, flagged.reason) == ("waiting", "no_purchase")
    assert ReferralRule.objects.filter(active=True).count() == 1
    referrer = friends.first().referrer
    assert referrer.phone != "13800000000"  # whose 5,000 points API.md promises
    assert f"Referrals: {referrer.phone} brought 4 friends" in output

    seed()
    assert ReferralReward.objects.count() == rewards
    assert friends.count() == 4 and ReferralFlag.objects.count() == 1

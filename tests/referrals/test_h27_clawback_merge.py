"""Review h27: a referral reward taken back from a referrer merged since."""

import pytest

from apps.members.services import member_merge
from apps.points.models import Account
from apps.points.selectors import points_available
from apps.points.verification import ledger_problems
from apps.referrals.models import ReferralReward
from apps.tiers.models import GrowthEntry
from tests.core.factories import UserFactory
from tests.members.factories import MemberFactory
from tests.referrals.test_clawback import refund, rewarded, rule  # noqa: F401

pytestmark = pytest.mark.django_db


def test_h27_a_reward_taken_back_after_the_referrer_was_merged_comes_off_the_survivor(
    rewarded,  # noqa: F811
    django_capture_on_commit_callbacks,
):
    """The referrer's 100 reward points moved to the survivor with the merge (balance and
    lots); the claw-back reverses the EARN entry, whose member is still the merged one, so
    it takes the points from the merged member's account, emptied by the merge."""
    referrer = rewarded.referrer
    survivor = MemberFactory()
    with django_capture_on_commit_callbacks(execute=True):
        member_merge(survivor=survivor, merged=referrer, actor=UserFactory(), reason="同一人")
    assert points_available(survivor) == 100

    refund(rewarded, "100.00", "R1", django_capture_on_commit_callbacks)

    taken = ReferralReward.objects.get(referral=rewarded, side="referrer")
    assert taken.clawed_back_at is not None
    merged_account = Account.objects.get(member=referrer)
    assert merged_account.balance >= 0, f"merged member's account at {merged_account.balance}"
    assert points_available(survivor) == 0
    assert ledger_problems() == {}
    assert list(
        GrowthEntry.objects.filter(cause_kind="referral_back").values_list("member", "amount")
    ) == [(survivor.pk, -10)]

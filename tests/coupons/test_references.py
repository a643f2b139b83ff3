"""What makes each issue once: a typed reference of its source, unique with the template and
the member it was issued to (`issued_to`), which a member merge leaves alone."""

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.core.models import Event
from apps.coupons.batches import issue_batch_run, issue_batch_start
from apps.coupons.handlers import give_join_coupons, give_tier_upgrade_coupons
from apps.coupons.issuing import coupon_build, coupon_claim, coupon_gift, coupon_issue_for_event
from apps.coupons.models import Coupon, CouponTemplate, IssueBatch
from apps.members.models import Segment
from apps.members.services import member_merge
from tests.core.factories import UserFactory
from tests.coupons.factories import CouponTemplateFactory
from tests.members.factories import MemberFactory
from tests.stores.factories import StaffFactory, StoreFactory

pytestmark = pytest.mark.django_db

Cause = Coupon.CauseKind


def test_a_merge_moves_claims_and_batch_coupons_both_members_had(
    django_capture_on_commit_callbacks,
):
    store = StoreFactory()
    template = CouponTemplateFactory(per_member_limit=1)
    survivor, merged = MemberFactory(home_store=store), MemberFactory(home_store=store)
    segment = Segment.objects.create(name="本店会员")
    segment.home_stores.add(store)
    batch = IssueBatch.objects.create(
        name="b", template=CouponTemplateFactory(claimable=False), segment=segment
    )
    mine = coupon_claim(template=template, member=survivor)
    theirs = coupon_claim(template=template, member=merged)
    issue_batch_start(batch=batch)
    issue_batch_run(batch_id=batch.pk)

    with django_capture_on_commit_callbacks(execute=True):
        member_merge(survivor=survivor, merged=merged, actor=None, reason="同一人")

    assert Coupon.objects.filter(member=survivor).count() == 4
    assert list(
        Coupon.objects.filter(pk__in=[mine.pk, theirs.pk])
        .order_by("pk")
        .values_list("issued_to", "claim_slot")
    ) == [(survivor.pk, 1), (merged.pk, 1)]
    assert sorted(Coupon.objects.filter(batch=batch).values_list("issued_to", flat=True)) == [
        survivor.pk,
        merged.pk,
    ]
    assert Event.objects.get(name="member_merged").status == Event.Status.DONE


def test_a_referral_reward_issues_its_coupon_once():
    """Each side's reward of a referral (apps.referrals.rewards) names its coupon's cause."""
    reward = CouponTemplateFactory(claimable=False, auto_issue="referral", total_stock=None)
    referrer = MemberFactory()

    for reward_id in (11, 12, 11):
        coupon_issue_for_event(
            template=reward, member=referrer, cause_kind="referral_reward", cause_id=reward_id
        )

    assert sorted(
        Coupon.objects.filter(member=referrer).values_list("template", "cause_kind", "cause_id")
    ) == [(reward.pk, "referral_reward", 11), (reward.pk, "referral_reward", 12)]


def test_a_join_gift_is_once_per_member_and_a_tier_gift_once_per_upgrade():
    join_gift = CouponTemplateFactory(claimable=False, auto_issue="join", total_stock=None)
    tier_gift = CouponTemplateFactory(claimable=False, auto_issue="tier_upgrade", total_stock=None)
    member = MemberFactory()
    now = timezone.now()
    upgrades = [
        Event.objects.create(
            name="tier_changed",
            payload={"member": member.pk, "reason": "upgrade"},
            next_attempt_at=now,
        )
        for _ in range(2)
    ]

    for _ in range(2):
        give_join_coupons(Event(name="member_joined", payload={"member": member.pk}))
    for event in [*upgrades, upgrades[0]]:
        give_tier_upgrade_coupons(event)

    assert Coupon.objects.filter(template=join_gift).count() == 1
    assert sorted(Coupon.objects.filter(template=tier_gift).values_list("cause_id", flat=True)) == [
        event.pk for event in upgrades
    ]


def test_an_event_issue_is_once_per_template_member_and_cause():
    template = CouponTemplateFactory(claimable=False, total_stock=None)
    member, other = MemberFactory(), MemberFactory()

    def issue(who, kind, cause_id):
        return coupon_issue_for_event(
            template=template, member=who, cause_kind=kind, cause_id=cause_id
        )

    first = issue(member, Cause.BIRTHDAY, 2026)
    assert issue(member, Cause.BIRTHDAY, 2026) is None
    assert issue(member, Cause.BIRTHDAY, 2027) is not None
    assert issue(other, Cause.BIRTHDAY, 2026) is not None
    assert issue(member, Cause.DEMO, 2026) is not None

    assert Coupon.objects.count() == 4
    assert CouponTemplate.objects.get(pk=template.pk).issued == 4
    assert (first.source, first.issued_to_id, first.cause_kind) == ("event", member.pk, "birthday")


def test_a_gift_key_is_once_per_store():
    store, other = StoreFactory(), StoreFactory()
    owner = UserFactory(is_superuser=True, is_staff=True)
    StaffFactory(user=owner, store=store, role="owner")
    template = CouponTemplateFactory(claimable=False, per_store_limit=5, total_stock=None)
    member = MemberFactory()

    here = coupon_gift(template=template, member=member, store=store, actor=owner, key="k")
    there = coupon_gift(template=template, member=member, store=other, actor=owner, key="k")

    assert here != there
    assert coupon_gift(template=template, member=member, store=store, actor=owner, key="k") == here
    assert sorted(Coupon.objects.values_list("store", "idempotency_key")) == sorted(
        [(store.pk, "k"), (other.pk, "k")]
    )


@pytest.mark.parametrize(
    "source, reference",
    [
        ("claim", {}),
        ("claim", {"claim_slot": 0}),
        ("exchange", {"batch_id": None}),
        ("batch", {"claim_slot": 1}),
        ("event", {"cause_id": 1}),
        ("event", {"cause_kind": "join"}),
        ("store_gift", {"claim_slot": 1}),
        ("claim", {"claim_slot": 1, "cause_kind": "join", "cause_id": 1}),
        ("claim", {"claim_slot": 1, "idempotency_key": "k"}),
    ],
)
def test_a_coupon_without_its_sources_reference_is_refused(source, reference):
    template, member = CouponTemplateFactory(), MemberFactory()
    coupon = coupon_build(
        template, member.pk, source=source, store_id=None, now=timezone.now(), **reference
    )

    with pytest.raises(IntegrityError), transaction.atomic():
        coupon.save(force_insert=True)

    assert not Coupon.objects.exists()

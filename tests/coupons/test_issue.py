"""Every other way to issue: points exchange, store gifts, events, birthdays, HQ batches."""

from datetime import date, timedelta

import pytest
from django.utils import timezone

from apps.coupons.actions import templates_withdraw
from apps.coupons.batches import coupons_birthday_issue, issue_batch_run, issue_batch_start
from apps.coupons.errors import (
    BatchNotReady,
    CouponNotUsable,
    CouponTemplateNotFound,
    NotEligible,
    SoldOut,
)
from apps.coupons.issuing import coupon_exchange, coupon_gift
from apps.coupons.models import Coupon, CouponTemplate, IssueBatch
from apps.coupons.selectors import template_get
from apps.members.models import Segment
from apps.members.services import member_delete, member_join_or_find
from apps.points.errors import InsufficientPoints
from apps.points.models import Entry
from apps.points.selectors import points_available
from apps.points.services import points_earn
from apps.points.verification import ledger_problems
from apps.tiers.models import Tier
from apps.tiers.services import growth_earn
from tests.core.factories import UserFactory
from tests.coupons.factories import CouponTemplateFactory
from tests.members.factories import MemberFactory
from tests.stores.factories import StaffFactory, StoreFactory

pytestmark = pytest.mark.django_db


def give_points(member, amount):
    points_earn(
        member=member,
        amount=amount,
        key=f"seed:{member.pk}",
        cause_kind="admin",
        description="t",
        pending=False,
    )


def test_exchanging_points_for_a_coupon_is_both_or_neither_and_retries_are_free():
    template = CouponTemplateFactory(claimable=False, points_price=500, per_member_limit=2)
    member = MemberFactory()
    give_points(member, 800)

    coupon = coupon_exchange(template=template, member=member, key="k1")
    again = coupon_exchange(template=template, member=member, key="k1")
    with pytest.raises(InsufficientPoints):
        coupon_exchange(template=template, member=member, key="k2")

    assert again.pk == coupon.pk
    assert points_available(member) == 300
    assert Coupon.objects.filter(member=member).count() == 1
    assert CouponTemplate.objects.get(pk=template.pk).issued == 1
    assert Entry.objects.get(kind="exchange").description == f"兑换优惠券「{template.name}」"
    assert ledger_problems() == {}


def test_a_store_gives_from_its_allowance_only_and_only_its_own():
    store, other = StoreFactory(), StoreFactory()
    owner = UserFactory()
    StaffFactory(user=owner, store=store, role="owner")
    template = CouponTemplateFactory(claimable=False, per_store_limit=1)
    members = [MemberFactory(), MemberFactory()]

    first = coupon_gift(template=template, member=members[0], store=store, actor=owner, key="a")
    assert (
        coupon_gift(template=template, member=members[0], store=store, actor=owner, key="a")
        == first
    )
    with pytest.raises(SoldOut):
        coupon_gift(template=template, member=members[1], store=store, actor=owner, key="b")
    with pytest.raises(CouponNotUsable):
        coupon_gift(template=template, member=members[1], store=other, actor=owner, key="c")
    with pytest.raises(NotEligible):
        coupon_gift(
            template=CouponTemplateFactory(per_store_limit=None),
            member=members[1],
            store=store,
            actor=owner,
            key="d",
        )

    assert Coupon.objects.filter(source="store_gift").count() == 1
    assert first.store == store


def test_joining_gives_the_join_gift_and_the_referrer_nothing_yet(
    django_capture_on_commit_callbacks,
):
    """A referrer's coupon waits for the friend's first order (apps.referrals.rewards)."""
    join_gift = CouponTemplateFactory(
        claimable=False, auto_issue="join", kind="cash", threshold=None, amount=5
    )
    reward = CouponTemplateFactory(claimable=False, auto_issue="referral", total_stock=None)
    referrer = MemberFactory()

    with django_capture_on_commit_callbacks(execute=True):
        friend, _created = member_join_or_find(
            phone="13700000001", source="miniprogram", referrer=referrer
        )

    assert Coupon.objects.get(member=friend).template == join_gift
    assert not Coupon.objects.filter(member=referrer).exists()
    assert reward.coupons.count() == 0


def test_a_tier_upgrade_gives_the_gift_of_that_tier(django_capture_on_commit_callbacks):
    Tier.objects.create(code="normal", name="普通会员", rank=0, growth_threshold=0)
    gold = Tier.objects.create(code="gold", name="黄金会员", rank=1, growth_threshold=1000)
    gift = CouponTemplateFactory(claimable=False, auto_issue="tier_upgrade")
    gift.eligible_tiers.add(gold)
    member = MemberFactory()

    with django_capture_on_commit_callbacks(execute=True):
        growth_earn(
            member=member, amount=400, key="g1", kind="order", cause_kind="admin", description="d"
        )
    assert not Coupon.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        growth_earn(
            member=member, amount=600, key="g2", kind="order", cause_kind="admin", description="d"
        )

    assert Coupon.objects.get(member=member).template == gift


def test_birthday_coupons_go_to_todays_birthdays_once_a_year():
    template = CouponTemplateFactory(claimable=False, auto_issue="birthday", total_stock=None)
    today = date(2027, 2, 28)
    born_today = MemberFactory(birthday=date(1990, 2, 28))
    leap_baby = MemberFactory(birthday=date(1992, 2, 29))
    MemberFactory(birthday=date(1990, 3, 1))

    assert coupons_birthday_issue(today=today) == 2
    assert coupons_birthday_issue(today=today) == 0

    assert set(Coupon.objects.values_list("member", flat=True)) == {born_today.pk, leap_baby.pk}
    assert CouponTemplate.objects.get(pk=template.pk).issued == 2


def test_a_batch_to_a_segment_issues_once_per_member_even_when_run_again():
    template = CouponTemplateFactory(claimable=False, total_stock=None)
    store = StoreFactory()
    members = [MemberFactory(home_store=store) for _ in range(5)]
    MemberFactory()  # not in the segment
    segment = Segment.objects.create(name="本店会员")
    segment.home_stores.add(store)
    batch = IssueBatch.objects.create(name="十一月回馈", template=template, segment=segment)

    issue_batch_start(batch=batch)
    issue_batch_run(batch_id=batch.pk)
    IssueBatch.objects.filter(pk=batch.pk).update(status="running", cursor=0)  # a crashed rerun
    batch = issue_batch_run(batch_id=batch.pk)

    assert batch.status == "done" and batch.targeted == 5
    assert (batch.issued, batch.skipped) == (5, 5)
    assert sorted(Coupon.objects.values_list("member", flat=True)) == [m.pk for m in members]


def test_a_phone_list_batch_reports_unknown_numbers_and_stops_when_stock_runs_out(settings):
    template = CouponTemplateFactory(claimable=False, total_stock=2)
    for phone in ("13900000001", "13900000002", "13900000003"):
        MemberFactory(phone=phone)
    batch = IssueBatch.objects.create(
        name="名单",
        template=template,
        phones="13900000001\n139 0000 0002\n13900000003\n13900000009\nnot a phone\n",
    )

    issue_batch_start(batch=batch)
    batch = issue_batch_run(batch_id=batch.pk)

    assert batch.status == "sold_out"
    assert (batch.targeted, batch.issued, batch.unknown) == (4, 2, 2)
    assert CouponTemplate.objects.get(pk=template.pk).issued == 2 == Coupon.objects.count()


def test_a_batch_without_members_is_refused():
    batch = IssueBatch.objects.create(name="空", template=CouponTemplateFactory(), phones="12345\n")

    with pytest.raises(BatchNotReady):
        issue_batch_start(batch=batch)

    assert IssueBatch.objects.get(pk=batch.pk).status == "draft"


def test_batches_run_in_chunks_with_a_flat_number_of_queries(
    django_assert_max_num_queries, monkeypatch
):
    from apps.coupons import batches

    monkeypatch.setattr(batches, "CHUNK", 50)
    template = CouponTemplateFactory(claimable=False, total_stock=None)
    segment = Segment.objects.create(name="全部")
    MemberFactory.create_batch(50)
    batch = IssueBatch.objects.create(name="全部", template=template, segment=segment)
    issue_batch_start(batch=batch)

    # 2 take and give back the run's lock; 2 turn the planner's merge and hash joins off
    # for the chunk's read and back on (member_ids_after)
    with django_assert_max_num_queries(16):
        issue_batch_run(batch_id=batch.pk, chunks=1)

    assert IssueBatch.objects.get(pk=batch.pk).issued == 50


def test_valid_days_run_from_the_issue(settings):
    template = CouponTemplateFactory(valid_days=1)
    member = MemberFactory()
    from apps.coupons.issuing import coupon_claim

    coupon = coupon_claim(template=template, member=member)

    assert timezone.localtime(coupon.valid_until).date() == timezone.localdate()
    assert coupon.valid_until > timezone.now() > coupon.valid_until - timedelta(days=1)


@pytest.mark.django_db(transaction=True)
def test_a_retried_exchange_racing_the_first_pays_once_and_gives_one_coupon():
    from tests.conftest import run_together

    template = CouponTemplateFactory(claimable=False, points_price=100, per_member_limit=5)
    member = MemberFactory()
    give_points(member, 1000)

    codes = run_together(
        lambda: coupon_exchange(template=template, member=member, key="tap").code, 6
    )

    assert len(set(codes)) == 1
    assert Coupon.objects.filter(member=member).count() == 1
    assert points_available(member) == 900


@pytest.mark.django_db
def test_an_exchange_for_a_template_withdrawn_after_it_was_cached_spends_nothing():
    template = CouponTemplateFactory(claimable=False, points_price=100, total_stock=10)
    member = MemberFactory()
    give_points(member, 1000)
    cached = template_get(template.pk)
    templates_withdraw(templates=CouponTemplate.objects.filter(pk=template.pk), actor=None)

    with pytest.raises(CouponTemplateNotFound):
        coupon_exchange(template=cached, member=member, key="tap")

    assert points_available(member) == 1000 and not Coupon.objects.exists()


def test_a_finished_phone_list_batch_keeps_its_numbers_masked_only():
    template = CouponTemplateFactory(claimable=False, total_stock=None)
    MemberFactory(phone="13900000001")
    batch = IssueBatch.objects.create(
        name="名单", template=template, phones="13900000001,林晓\n13900000009\nnot a phone"
    )

    issue_batch_start(batch=batch)
    batch = issue_batch_run(batch_id=batch.pk)

    assert (batch.status, batch.issued, batch.unknown) == ("done", 1, 2)
    assert batch.phones == "139****0001\n139****0009\nnot a phone"


def test_a_closed_account_leaves_the_phone_lists_of_batches_not_started(
    django_capture_on_commit_callbacks,
):
    template = CouponTemplateFactory(claimable=False)
    member = MemberFactory(phone="13900000001")
    phones = "13900000001\n13900000002"
    draft = IssueBatch.objects.create(name="草稿", template=template, phones=phones)
    running = IssueBatch.objects.create(
        name="进行中", template=template, phones=phones, status="running"
    )

    with django_capture_on_commit_callbacks(execute=True):
        member_delete(member=member)

    draft.refresh_from_db()
    running.refresh_from_db()
    assert draft.phones == "139****0001\n13900000002"
    assert (
        running.phones == "13900000001\n13900000002"
    )  # its cursor counts these: masked at its end


def test_a_batch_whose_task_was_lost_is_sent_again_and_issues_once(
    django_capture_on_commit_callbacks,
):
    from apps.coupons.batches import issue_batches_resume
    from apps.coupons.tasks import issue_batch_run_task
    from tests.core.jobs import broker_down

    template = CouponTemplateFactory(claimable=False, total_stock=None)
    segment = Segment.objects.create(name="全部")
    MemberFactory.create_batch(3)
    batch = IssueBatch.objects.create(name="全部", template=template, segment=segment)
    with broker_down(issue_batch_run_task), django_capture_on_commit_callbacks(execute=True):
        issue_batch_start(batch=batch)
    assert IssueBatch.objects.get(pk=batch.pk).status == "running"
    later = timezone.now() + timedelta(minutes=6)

    assert issue_batches_resume() == 0  # just started: its task may still be on its way
    assert issue_batches_resume(now=later) == 1
    assert issue_batches_resume(now=later) == 0

    batch.refresh_from_db()
    assert (batch.status, batch.issued) == ("done", 3)
    assert Coupon.objects.count() == 3


def test_a_batch_sent_again_while_a_worker_runs_it_is_left_to_that_worker():
    from tests.core.jobs import run_elsewhere

    template = CouponTemplateFactory(claimable=False, total_stock=None)
    segment = Segment.objects.create(name="全部")
    MemberFactory.create_batch(2)
    batch = IssueBatch.objects.create(name="全部", template=template, segment=segment)
    issue_batch_start(batch=batch)

    with run_elsewhere("coupons.issuebatch", batch.pk):
        assert issue_batch_run(batch_id=batch.pk).issued == 0
    batch = issue_batch_run(batch_id=batch.pk)  # the worker died: the lock went with it

    assert (batch.status, batch.issued) == ("done", 2)
    assert Coupon.objects.count() == 2

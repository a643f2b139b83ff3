"""Claiming: stock and per-member limits hold, every refusal changes nothing."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.core.codes import minute_letters
from apps.coupons.actions import templates_withdraw
from apps.coupons.errors import CouponTemplateNotFound, LimitReached, NotEligible, SoldOut
from apps.coupons.issuing import coupon_claim
from apps.coupons.models import Coupon, CouponTemplate, TemplateCounter
from apps.coupons.selectors import template_get
from apps.tiers.models import Tier
from apps.tiers.services import tier_set_manual
from tests.conftest import run_together
from tests.coupons.factories import CouponTemplateFactory
from tests.members.factories import MemberFactory
from tests.stores.factories import StoreFactory


def issued(template) -> int:
    return CouponTemplate.objects.get(pk=template.pk).issued


@pytest.mark.django_db
def test_a_claim_gives_a_coupon_with_its_dates_and_takes_one_from_stock():
    template, member = CouponTemplateFactory(total_stock=2, valid_days=7), MemberFactory()
    minute = minute_letters()

    coupon = coupon_claim(template=template, member=member)

    assert coupon.status == "available" and len(coupon.code) == 16
    assert coupon.code[:5] in (minute, minute_letters())  # by the minute it was issued
    assert coupon.valid_until - coupon.valid_from < timedelta(days=7)
    assert issued(template) == 1


@pytest.mark.django_db
def test_the_per_member_limit_allows_exactly_that_many():
    template, member = CouponTemplateFactory(per_member_limit=2), MemberFactory()
    coupon_claim(template=template, member=member)
    coupon_claim(template=template, member=member)

    with pytest.raises(LimitReached):
        coupon_claim(template=template, member=member)

    assert Coupon.objects.filter(member=member).count() == 2 and issued(template) == 2


@pytest.mark.django_db
def test_sold_out_is_refused_and_nothing_is_written():
    template = CouponTemplateFactory(total_stock=1)
    coupon_claim(template=template, member=MemberFactory())
    late = MemberFactory()

    with pytest.raises(SoldOut):
        coupon_claim(template=CouponTemplate.objects.get(pk=template.pk), member=late)
    with pytest.raises(SoldOut):  # even with a stale template that still shows stock
        coupon_claim(template=template, member=late)

    assert not Coupon.objects.filter(member=late).exists() and issued(template) == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"active": False}, "已停止发放"),
        ({"claimable": False}, "不可直接领取"),
        ({"claim_starts_at": timezone.now() + timedelta(hours=1)}, "尚未开始领取"),
        ({"claim_ends_at": timezone.now() - timedelta(hours=1)}, "领取已结束"),
        ({"new_members_only": True}, "仅限新会员"),
    ],
)
def test_ineligible_claims_are_refused_with_the_reason(fields, reason):
    template = CouponTemplateFactory(**fields)
    member = MemberFactory(joined_at=timezone.now() - timedelta(days=90))

    with pytest.raises(NotEligible) as refused:
        coupon_claim(template=template, member=member)

    assert reason in refused.value.render(), refused.value.render()
    assert issued(template) == 0 and not Coupon.objects.exists()


@pytest.mark.django_db
def test_tier_and_store_eligibility():
    gold = Tier.objects.create(code="gold", name="黄金会员", rank=1, growth_threshold=100)
    Tier.objects.create(code="normal", name="普通会员", rank=0, growth_threshold=0)
    here = StoreFactory()
    gold_only = CouponTemplateFactory()
    gold_only.eligible_tiers.add(gold)
    local = CouponTemplateFactory()
    local.eligible_stores.add(here)
    member = MemberFactory(home_store=StoreFactory())

    with pytest.raises(NotEligible, match="黄金会员"):
        coupon_claim(template=gold_only, member=member)
    with pytest.raises(NotEligible):
        coupon_claim(template=local, member=member)

    tier_set_manual(member=member, tier=gold, until=None, actor=None, reason="测试")
    member.home_store = here
    member.save()
    assert coupon_claim(template=gold_only, member=member)
    assert coupon_claim(template=local, member=member)


@pytest.mark.django_db
def test_a_store_budget_and_a_daily_limit_stop_one_store_or_one_day_draining_the_drop():
    store = StoreFactory()
    template = CouponTemplateFactory(total_stock=100, per_store_limit=2, daily_limit=3)
    at_store = [MemberFactory(home_store=store) for _ in range(3)]
    elsewhere = [MemberFactory() for _ in range(2)]

    coupon_claim(template=template, member=at_store[0])
    coupon_claim(template=template, member=at_store[1])
    with pytest.raises(SoldOut):
        coupon_claim(template=template, member=at_store[2])
    coupon_claim(template=template, member=elsewhere[0])
    with pytest.raises(SoldOut):
        coupon_claim(template=template, member=elsewhere[1])

    assert issued(template) == 3
    assert dict(TemplateCounter.objects.values_list("store", "issued"))[store.pk] == 2


@pytest.mark.django_db
@pytest.mark.parametrize(
    "limits", [{}, {"daily_limit": 10}], ids=["total stock only", "with a daily limit"]
)
def test_a_template_withdrawn_after_it_was_cached_gives_nothing_more(limits):
    template = CouponTemplateFactory(total_stock=10, **limits)
    cached = template_get(template.pk)
    templates_withdraw(templates=CouponTemplate.objects.filter(pk=template.pk), actor=None)

    assert template_get(template.pk) is cached  # still held by this process, for a second
    with pytest.raises(CouponTemplateNotFound):
        coupon_claim(template=cached, member=MemberFactory())

    assert issued(template) == 0 and not Coupon.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_flash_drop_never_oversells_and_nobody_gets_two():
    template = CouponTemplateFactory(total_stock=10, per_member_limit=1)
    members = [MemberFactory() for _ in range(15)]
    queue = iter(members * 2)  # every member taps twice, 30 claims at once

    def claim():
        try:
            coupon_claim(template=template, member=next(queue))
            return "ok"
        except SoldOut:
            return "sold_out"
        except LimitReached:
            return "limit"

    results = run_together(claim, 30)

    assert results.count("ok") == 10 == Coupon.objects.count() == issued(template)
    assert max(Coupon.objects.filter(member=m).count() for m in members) == 1
    assert results.count("ok") + results.count("sold_out") + results.count("limit") == 30


@pytest.mark.django_db(transaction=True)
def test_one_member_tapping_twenty_times_at_once_gets_their_limit_only():
    template = CouponTemplateFactory(total_stock=None, per_member_limit=3)
    member = MemberFactory()

    def claim():
        try:
            coupon_claim(template=template, member=member)
            return "ok"
        except LimitReached:
            return "limit"

    results = run_together(claim, 20)

    assert Coupon.objects.filter(member=member).count() == results.count("ok") <= 3
    assert results.count("ok") >= 1
    assert issued(template) == results.count("ok")


@pytest.mark.django_db
def test_after_the_database_says_sold_out_the_cache_says_so_until_hq_adds_stock():
    from apps.coupons.selectors import template_forget
    from apps.coupons.sold_out import sold_out_lately

    template = CouponTemplateFactory(total_stock=1)
    stale = CouponTemplate.objects.get(pk=template.pk)  # still shows one left
    coupon_claim(template=template, member=MemberFactory())
    later = MemberFactory()
    assert not sold_out_lately(template.pk)

    with pytest.raises(SoldOut):
        coupon_claim(template=stale, member=MemberFactory())  # the database says no
    assert sold_out_lately(template.pk)  # for the API to answer the taps that follow

    CouponTemplate.objects.filter(pk=template.pk).update(total_stock=2)  # HQ adds stock
    template_forget(template.pk)
    assert not sold_out_lately(template.pk)
    assert coupon_claim(template=CouponTemplate.objects.get(pk=template.pk), member=later)


@pytest.mark.django_db
def test_a_template_read_as_sold_out_keeps_the_taps_off_the_database(django_assert_num_queries):
    from django.core.cache import cache

    from apps.coupons.sold_out import sold_out_key, sold_out_lately

    template = CouponTemplateFactory(total_stock=1)
    coupon_claim(template=template, member=MemberFactory())
    gone = CouponTemplate.objects.get(pk=template.pk)  # read after the last one went
    cache.delete(sold_out_key(template.pk))  # the answer of the last refusal has expired

    with django_assert_num_queries(0), pytest.raises(SoldOut):
        coupon_claim(template=gone, member=MemberFactory.build())
    assert sold_out_lately(template.pk)


@pytest.mark.django_db(transaction=True)
def test_a_claim_on_a_template_with_only_a_total_stock_is_one_statement(
    django_assert_num_queries,
):
    from apps.coupons.selectors import template_get

    template = template_get(CouponTemplateFactory(total_stock=1).pk)
    first, second = MemberFactory(), MemberFactory()

    with django_assert_num_queries(1):  # stock and coupon together, committed at once
        coupon_claim(template=template, member=first)
    with pytest.raises(SoldOut), django_assert_num_queries(2):  # and the stock read after
        coupon_claim(template=template, member=second)

    assert Coupon.objects.get().member == first and issued(template) == 1

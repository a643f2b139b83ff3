"""Binding a member to a promoter, by HQ's rule, and whom an order credits."""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from apps.members.attribution import (
    BindingMode,
    BindingRule,
    binding_allowed,
    promoter_bind,
    promoters_for,
)
from apps.members.errors import BindingRefused
from apps.members.models import PromoterBinding
from tests.members.factories import MemberFactory

T0 = datetime(2026, 1, 1, tzinfo=UTC)
DAY = timedelta(days=1)
FIRST = BindingRule(mode=BindingMode.FIRST)
PROTECTED = BindingRule(mode=BindingMode.PROTECTED, protect_days=30)
LAST = BindingRule(mode=BindingMode.LAST)
NEW_ONLY = BindingRule(mode=BindingMode.FIRST, existing_members=False)


@pytest.mark.parametrize(
    ("rule", "current", "now", "new_member", "binds"),
    [
        (FIRST, None, T0, False, True),  # nobody yet: the first touch binds
        (FIRST, (T0, None), T0 + 400 * DAY, True, False),  # for good
        (FIRST, (T0, T0 + 10 * DAY), T0 + 11 * DAY, False, True),  # once it ended: open
        (PROTECTED, (T0, None), T0 + 29 * DAY, False, False),  # protected
        (PROTECTED, (T0, None), T0 + 30 * DAY, False, True),  # then open to another
        (LAST, (T0, None), T0 + DAY, False, True),  # last click
        (NEW_ONLY, None, T0, False, False),  # only new members: an existing one stays free
        (NEW_ONLY, None, T0, True, True),
        (NEW_ONLY, (T0, T0 + DAY), T0 + 2 * DAY, False, False),
    ],
)
def test_the_binding_rule(rule, current, now, new_member, binds):
    assert binding_allowed(rule, current=current, now=now, new_member=new_member) is binds


def test_a_binding_ends_after_its_days_or_never():
    assert BindingRule(binding_days=90).ends_at(T0) == T0 + 90 * DAY
    assert BindingRule().ends_at(T0) is None


@pytest.mark.django_db
def test_binding_records_source_start_and_end_and_a_rebinding_keeps_the_old_one():
    member, first, second = MemberFactory(), MemberFactory(), MemberFactory()
    rule = BindingRule(mode=BindingMode.LAST, binding_days=90)

    old = promoter_bind(member=member, promoter=first, source="link", rule=rule, now=T0)
    new = promoter_bind(member=member, promoter=second, source="poster", rule=rule, now=T0 + DAY)

    old.refresh_from_db()
    assert (old.source, old.started_at, old.ends_at, old.replaced_at) == (
        "link",
        T0,
        T0 + 90 * DAY,
        T0 + DAY,
    )
    assert (new.promoter, new.source, new.replaced_at) == (second, "poster", None)
    assert PromoterBinding.objects.filter(member=member).count() == 2


@pytest.mark.django_db
def test_a_touch_the_rule_refuses_changes_nothing():
    member, first, second = MemberFactory(), MemberFactory(), MemberFactory()
    kept = promoter_bind(member=member, promoter=first, source="link", rule=FIRST, now=T0)

    assert promoter_bind(member=member, promoter=second, source="link", rule=FIRST) is None
    # the same promoter again: the binding stands as it was
    assert promoter_bind(member=member, promoter=first, source="poster", rule=FIRST) == kept
    assert list(PromoterBinding.objects.values_list("promoter", "replaced_at")) == [
        (first.pk, None)
    ]


@pytest.mark.django_db
def test_never_bound_to_themselves_nor_to_their_own_downline():
    top, middle, bottom = MemberFactory(), MemberFactory(), MemberFactory()
    promoter_bind(member=middle, promoter=top, source="link", rule=LAST, now=T0)
    promoter_bind(member=bottom, promoter=middle, source="link", rule=LAST, now=T0)

    for promoter in (top, middle, bottom):
        with pytest.raises(BindingRefused):
            promoter_bind(member=top, promoter=promoter, source="link", rule=LAST)
    with pytest.raises(BindingRefused):
        promoter_bind(member=middle, promoter=bottom, source="link", rule=LAST)
    assert PromoterBinding.objects.filter(member=top).count() == 0
    assert PromoterBinding.objects.get(member=middle).promoter == top


@pytest.mark.django_db
def test_an_order_credits_the_promoter_and_theirs_in_one_query(django_assert_num_queries):
    top, middle, buyer = MemberFactory(), MemberFactory(), MemberFactory()
    promoter_bind(member=middle, promoter=top, source="link", rule=FIRST, now=T0)
    promoter_bind(member=buyer, promoter=middle, source="link", rule=FIRST, now=T0)

    with django_assert_num_queries(1):
        assert promoters_for(buyer, T0 + DAY) == (middle.pk, top.pk)
    with django_assert_num_queries(0):
        assert promoters_for(None, T0) == (None, None)
    assert promoters_for(middle, T0 + DAY) == (top.pk, None)
    assert promoters_for(top, T0 + DAY) == (None, None)


@pytest.mark.django_db
def test_an_expired_binding_credits_no_one():
    top, middle, buyer = MemberFactory(), MemberFactory(), MemberFactory()
    promoter_bind(
        member=middle, promoter=top, source="link", rule=BindingRule(binding_days=5), now=T0
    )
    promoter_bind(
        member=buyer, promoter=middle, source="link", rule=BindingRule(binding_days=10), now=T0
    )

    assert promoters_for(buyer, T0 + 6 * DAY) == (middle.pk, None)  # the second level ended
    assert promoters_for(buyer, T0 + 10 * DAY) == (None, None)


@pytest.mark.django_db
def test_an_order_records_whom_it_credits_and_a_later_binding_never_rewrites_it(settings):
    from tests.referrals.factories import sale
    from tests.stores.factories import StoreFactory

    settings.PROMOTER_BINDING = BindingMode.LAST
    store, first, second, buyer = StoreFactory(), MemberFactory(), MemberFactory(), MemberFactory()
    promoter_bind(member=buyer, promoter=first, source="link", now=timezone.now() - DAY)
    before = sale(store, buyer)

    promoter_bind(member=buyer, promoter=second, source="link")
    after = sale(store, buyer)
    without = sale(store, None)

    before.refresh_from_db()
    assert (before.promoter, before.second_promoter) == (first, None)
    assert after.promoter == second
    assert (without.promoter, without.second_promoter) == (None, None)

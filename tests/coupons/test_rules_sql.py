"""The filters and statements that stand for a rule in SQL agree with the rule, on
generated cases, on PostgreSQL: claim_open with claim_window_problem, usable_now and
past_date with coupon_state_problem and the date in usability_problem, and coupon_use's
statement with all of them."""

import itertools
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.coupons.models import Coupon, CouponTemplate
from apps.coupons.redemption import coupon_use
from apps.coupons.rules import (
    EXPIRED,
    claim_open,
    claim_window_problem,
    coupon_state_problem,
    past_date,
    usability_problem,
    usable_now,
)
from tests.coupons.factories import CouponTemplateFactory
from tests.members.factories import MemberFactory
from tests.stores.factories import StoreFactory

NOW = timezone.now().replace(microsecond=0)
# the edges and either side of them
OFFSETS = [
    timedelta(hours=-2),
    timedelta(seconds=-1),
    timedelta(0),
    timedelta(seconds=1),
    timedelta(hours=2),
]
moments = st.sampled_from(OFFSETS).map(lambda offset: NOW + offset)
maybe_moments = st.one_of(st.none(), moments)
examples = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
serial = itertools.count(1)

windows = st.lists(
    st.tuples(st.booleans(), maybe_moments, maybe_moments, maybe_moments), min_size=1, max_size=12
)


@pytest.mark.django_db
@examples
@given(windows=windows)
def test_claim_open_finds_exactly_the_templates_whose_window_is_open(windows):
    CouponTemplate.objects.all().delete()
    templates = CouponTemplate.objects.bulk_create(
        CouponTemplate(
            name=f"T{number}",
            kind="cash",
            amount=10,
            valid_days=30,
            active=active,
            claim_starts_at=starts,
            claim_ends_at=ends,
            valid_until=until,
        )
        for number, (active, starts, ends, until) in enumerate(windows)
    )

    found = set(CouponTemplate.objects.filter(claim_open(NOW)).values_list("pk", flat=True))

    assert found == {t.pk for t in templates if not claim_window_problem(t, now=NOW)}


coupons = st.lists(
    st.tuples(
        st.sampled_from(["available", "locked", "used", "expired", "void"]),
        moments,  # valid from
        moments,  # valid until
        st.sampled_from([7, 8]),  # the order holding or having used it, if any
    ),
    min_size=1,
    max_size=12,
)


@pytest.fixture
def wallet(db):
    return CouponTemplateFactory(total_stock=None), MemberFactory(), StoreFactory()


def _coupons(template, member, cases) -> list[Coupon]:
    Coupon.objects.all().delete()
    return Coupon.objects.bulk_create(
        Coupon(
            template=template,
            member=member,
            code=f"C{(n := next(serial))}",
            source="claim",
            issued_to=member,
            claim_slot=n,
            status=status,
            valid_from=valid_from,
            valid_until=valid_until,
            order_id=order_id if status in ("locked", "used") else None,
            used_at=NOW if status == "used" else None,
        )
        for status, valid_from, valid_until, order_id in cases
    )


def _usable_by_rule(coupon, store) -> bool:
    return not coupon_state_problem(
        status=coupon.status, valid_until=coupon.valid_until, now=NOW
    ) and not usability_problem(coupon, store_id=store.pk, channel="store", now=NOW)


@examples
@given(cases=coupons)
def test_usable_now_and_past_date_find_what_the_rules_say(wallet, cases):
    template, member, store = wallet
    made = _coupons(template, member, cases)

    usable = set(Coupon.objects.filter(usable_now(NOW)).values_list("pk", flat=True))
    past = set(Coupon.objects.filter(past_date(NOW)).values_list("pk", flat=True))

    assert usable == {c.pk for c in made if _usable_by_rule(c, store)}
    assert past == {
        c.pk
        for c in made
        if c.status == "available"
        and coupon_state_problem(status=c.status, valid_until=c.valid_until, now=NOW) == EXPIRED
    }


@examples
@given(cases=coupons, order_id=st.sampled_from([None, 7, 8]), own=st.booleans())
def test_coupon_use_uses_exactly_what_the_rules_let_this_order_use(wallet, cases, order_id, own):
    template, member, store = wallet
    made = _coupons(template, member, cases)
    someone_else = member.pk + 1

    for coupon in made:
        with transaction.atomic():
            used = coupon_use(
                code=coupon.code,
                member_id=member.pk if own else someone_else,
                order_id=order_id,
                store_id=store.pk,
                now=NOW,
            )
            transaction.set_rollback(True)
        held_for_it = (
            coupon.status == "locked" and order_id is not None and coupon.order_id == order_id
        )
        assert used == (own and (_usable_by_rule(coupon, store) or held_for_it)), coupon.__dict__

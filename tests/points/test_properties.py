"""Random sequences of earn / redeem / refund / expire / adjust keep every invariant."""

import uuid
from datetime import date, timedelta

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.core.errors import DomainError
from apps.points.models import Entry
from apps.points.selectors import points_available, points_totals
from apps.points.services import (
    points_adjust,
    points_earn,
    points_expire_due,
    points_mature_due,
    points_redeem,
    points_reverse,
)
from apps.points.verification import ledger_problems
from tests.members.factories import MemberFactory

steps = st.lists(
    st.tuples(
        st.sampled_from(["earn", "earn_pending", "redeem", "refund", "expire", "mature", "adjust"]),
        st.integers(min_value=0, max_value=2),  # which member
        st.integers(min_value=1, max_value=400),  # how many points
    ),
    min_size=1,
    max_size=25,
)


@pytest.mark.django_db
@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=steps)
def test_any_sequence_keeps_the_ledger_whole(steps):
    members = [MemberFactory() for _ in range(3)]
    run = uuid.uuid4().hex  # examples share the test's database: keys must not repeat
    day = timezone.now().replace(year=2025, month=1, day=1)
    for number, (action, who, amount) in enumerate(steps):
        member, key = members[who], f"{run}:{number}"
        available = points_available(member)
        day += timedelta(days=40)
        if action in ("earn", "earn_pending"):
            points_earn(
                member=member,
                amount=amount,
                key=key,
                cause_kind="admin",
                description="得积分",
                pending=action == "earn_pending",
                now=day,
            )
        elif action == "redeem":
            try:
                points_redeem(
                    member=member,
                    amount=amount,
                    key=key,
                    cause_kind="admin",
                    description="积分抵现",
                )
                assert amount <= available
            except DomainError:
                assert amount > available
        elif action == "refund":
            earned = Entry.objects.filter(
                member=member, kind=Entry.Kind.EARN, reversals__isnull=True
            ).first()
            if earned:
                points_reverse(
                    entry=earned, cause_kind="admin", key=key, description="退货扣回积分"
                )
        elif action == "expire":
            points_expire_due(today=date(day.year, day.month, day.day))
        elif action == "mature":
            points_mature_due(now=day)
        else:
            points_adjust(member=member, amount=amount, reason="测试", actor=None, key=key)
        assert points_available(member) >= 0
        assert ledger_problems() == {}, (number, action)
        assert points_totals(member)["available"] == points_available(member)

"""Real threads against PostgreSQL: the ledger holds under any interleaving."""

import contextlib
import itertools
from datetime import date

import pytest
from django.db import transaction
from django.utils import timezone

from apps.points.errors import InsufficientPoints
from apps.points.models import Entry
from apps.points.selectors import points_available
from apps.points.services import points_earn, points_expire_due, points_redeem
from apps.points.verification import ledger_problems
from tests.conftest import run_together
from tests.members.factories import MemberFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_twenty_threads_redeeming_at_once_never_overdraw():
    member = MemberFactory()
    points_earn(
        member=member,
        amount=1000,
        key="seed",
        cause_kind="admin",
        description="得积分",
        pending=False,
    )
    keys = itertools.count()

    def redeem():
        try:
            points_redeem(
                member=member,
                amount=70,
                key=f"r{next(keys)}",
                cause_kind="admin",
                description="积分抵现",
            )
            return "ok"
        except InsufficientPoints:
            return "refused"

    results = run_together(redeem, 20)

    assert results.count("ok") == 14 and results.count("refused") == 6  # 14 × 70 = 980 ≤ 1000
    assert points_available(member) == 20
    assert ledger_problems() == {}


def test_a_replayed_key_never_doubles_under_a_storm():
    member = MemberFactory()

    def earn():
        points_earn(
            member=member,
            amount=100,
            key="order:42",
            cause_kind="admin",
            description="得积分",
            pending=False,
        )

    run_together(earn, 10)

    assert points_available(member) == 100
    assert Entry.objects.filter(idempotency_key="order:42").count() == 1
    assert ledger_problems() == {}


def test_earn_redeem_and_expiry_at_once_keep_every_invariant():
    members = [MemberFactory() for _ in range(3)]
    with transaction.atomic():
        for member in members:
            points_earn(
                member=member,
                amount=500,
                key=f"old{member.pk}",
                cause_kind="admin",
                description="得积分",
                pending=False,
                now=timezone.now().replace(year=2024),
            )
    keys = itertools.count()

    def work():
        n = next(keys)
        member = members[n % 3]
        if n % 4 == 0:
            points_expire_due(today=date(2026, 1, 1))
        elif n % 4 == 1:
            points_earn(
                member=member,
                amount=50,
                key=f"e{n}",
                cause_kind="admin",
                description="得积分",
                pending=False,
            )
        else:
            with contextlib.suppress(InsufficientPoints):
                points_redeem(
                    member=member,
                    amount=120,
                    key=f"r{n}",
                    cause_kind="admin",
                    description="积分抵现",
                )

    run_together(work, 16)

    assert ledger_problems() == {}


def test_one_key_used_at_once_for_two_unrelated_transfers_is_a_conflict_not_a_crash():
    from apps.points.errors import IdempotencyMismatch
    from apps.points.models import Account
    from tests.stores.factories import StoreFactory

    pairs = []
    for _ in range(2):
        member = MemberFactory()
        points_earn(
            member=member,
            amount=100,
            key=f"seed{member.pk}",
            cause_kind="admin",
            description="得积分",
            pending=False,
        )
        pairs.append(
            (member, Account.objects.create(kind=Account.Kind.STORE, store=StoreFactory()))
        )
    turn = itertools.count()

    def redeem():
        member, store_account = pairs[next(turn) % 2]
        try:
            points_redeem(
                member=member,
                amount=10,
                key="same-key",
                cause_kind="admin",
                description="积分抵现",
                store=store_account.store,
            )
            return "ok"
        except IdempotencyMismatch:
            return "conflict"

    assert sorted(run_together(redeem, 2)) == ["conflict", "ok"]
    assert ledger_problems() == {}

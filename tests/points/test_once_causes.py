"""The causes that write once are unique in the database by what they are, never by a key
assembled from ids: an event's bonus once per earning rule, an import's credit and a job
batch's entry once per member, a merge and the demo's grant once. Again, a write returns the
first entry; an entry the database is handed a second time is refused."""

import random
from datetime import date

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.core.demo import DemoContext
from apps.points import demo
from apps.points.earning import points_award_event
from apps.points.errors import IdempotencyMismatch
from apps.points.models import Account, EarningRule, Entry, JobBatch
from apps.points.selectors import points_available
from apps.points.services import (
    member_account,
    points_earn,
    points_expire_due,
    points_mature_due,
    points_merge_members,
    system_account,
)
from apps.points.verification import ledger_problems
from tests.members.factories import MemberFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def ledger_stays_whole():
    yield
    assert ledger_problems() == {}


def bonus_rule(points, event="join"):
    return EarningRule.objects.create(name=f"送 {points}", kind="bonus", event=event, points=points)


def entry_by_hand(member, **cause):
    """An entry written straight into the table, past the services, as a bug could."""
    return Entry.objects.create(
        kind=Entry.Kind.EARN,
        from_account=system_account(Account.Kind.ISSUANCE),
        to_account=member_account(member),
        amount=1,
        member=member,
        description="d",
        **cause,
    )


def test_joining_gives_each_bonus_rule_once_naming_the_rule_and_no_key():
    member = MemberFactory()
    gift, extra = bonus_rule(100), bonus_rule(50)

    first = points_award_event(member=member, event="join", cause_id=member.pk)
    again = points_award_event(member=member, event="join", cause_id=member.pk)

    entries = Entry.objects.filter(cause_kind="join", cause_id=member.pk).order_by("pk")
    assert [(e.rule_id, e.amount, e.idempotency_key) for e in entries] == [
        (gift.pk, 100, None),
        (extra.pk, 50, None),
    ]
    assert [e.pk for e in again] == [e.pk for e in first] == [e.pk for e in entries]
    assert points_available(member) == 150


def test_a_bonus_written_again_returns_the_first_and_another_amount_conflicts():
    member = MemberFactory()
    gift, extra = bonus_rule(100), bonus_rule(50)
    cause = {"member": member, "cause_kind": "join", "cause_id": member.pk, "pending": False}

    first = points_earn(amount=100, rule=gift, description="开卡礼", **cause)
    assert points_earn(amount=100, rule=gift, description="开卡礼", **cause) == first
    with pytest.raises(IdempotencyMismatch):
        points_earn(amount=90, rule=gift, description="开卡礼", **cause)
    other = points_earn(amount=50, rule=extra, description="加赠", **cause)

    assert Entry.objects.count() == 2 and other != first
    assert points_available(member) == 150


def test_the_database_refuses_a_second_bonus_of_one_rule_for_one_cause():
    member = MemberFactory()
    gift, extra = bonus_rule(100, "first_purchase"), bonus_rule(50, "first_purchase")
    entry_by_hand(member, cause_kind="first_purchase", cause_id=7, rule=gift)

    with pytest.raises(IntegrityError), transaction.atomic():
        entry_by_hand(member, cause_kind="first_purchase", cause_id=7, rule=gift)
    entry_by_hand(member, cause_kind="first_purchase", cause_id=7, rule=extra)
    entry_by_hand(member, cause_kind="first_purchase", cause_id=8, rule=gift)

    assert Entry.objects.count() == 3
    Entry.objects.all().delete()  # written past the balances


def test_an_import_credits_each_member_once():
    first, second = MemberFactory(), MemberFactory()
    cause = {"cause_kind": "import", "cause_id": 3, "pending": False, "description": "迁移积分"}

    credited = points_earn(member=first, amount=300, **cause)
    assert points_earn(member=first, amount=300, **cause) == credited
    points_earn(member=second, amount=200, **cause)

    assert Entry.objects.filter(cause_kind="import", idempotency_key=None).count() == 2
    assert (points_available(first), points_available(second)) == (300, 200)
    with pytest.raises(IntegrityError), transaction.atomic():
        entry_by_hand(first, cause_kind="import", cause_id=3)


def test_a_merge_moves_the_points_once():
    survivor, merged = MemberFactory(), MemberFactory()
    points_earn(
        member=merged, amount=250, cause_kind="admin", key="k", description="d", pending=False
    )

    points_merge_members(survivor=survivor, merged=merged)
    points_merge_members(survivor=survivor, merged=merged)

    moved = Entry.objects.get(kind=Entry.Kind.MERGE)
    assert (moved.cause_kind, moved.cause_id, moved.idempotency_key) == ("merge", merged.pk, None)
    assert (points_available(survivor), points_available(merged)) == (250, 0)
    with pytest.raises(IntegrityError), transaction.atomic():
        entry_by_hand(survivor, cause_kind="merge", cause_id=merged.pk)


def test_each_job_batch_is_the_cause_of_one_entry_a_member(settings):
    settings.POINTS_EXPIRY = "year_end_next"
    long_ago = timezone.now().replace(year=2024)
    members = [MemberFactory() for _ in range(5)]
    for member in members:
        points_earn(
            member=member,
            amount=40,
            cause_kind="admin",
            key=f"k{member.pk}",
            description="d",
            now=long_ago,
        )

    assert points_mature_due(now=timezone.now(), batch=2) == 5
    assert points_expire_due(today=date(2026, 1, 1), batch=2) == 200
    assert points_expire_due(today=date(2026, 1, 1), batch=2) == 0  # a rerun does nothing

    batches = {batch.pk: batch.kind for batch in JobBatch.objects.all()}
    assert list(batches.values()).count("expiry") == 3
    # settling: a batch for each part of pending in each transaction, none empty
    settled = Entry.objects.filter(kind="settle")
    by_batch = {(e.cause_id, e.from_account_id) for e in settled}
    assert list(batches.values()).count("maturity") == len(by_batch) == len(dict(by_batch))
    assert {e.from_account_id for e in settled} == {
        Account.objects.get(kind="pending", part=Account.part_of(m.pk)).pk for m in members
    }
    for kind, cause_kind in (("settle", "maturity"), ("expire", "expiry")):
        entries = Entry.objects.filter(kind=kind)
        assert {(e.cause_kind, batches[e.cause_id]) for e in entries} == {(cause_kind, cause_kind)}
        assert len({(e.cause_id, e.member_id) for e in entries}) == 5
        assert {e.idempotency_key for e in entries} == {None}
    some = Entry.objects.filter(kind="expire").first()
    with pytest.raises(IntegrityError), transaction.atomic():
        entry_by_hand(some.member, cause_kind="expiry", cause_id=some.cause_id)


def test_the_demo_grants_each_member_once_and_a_second_run_adds_nothing():
    welcomed = MemberFactory(phone=demo.DEMO_PHONE)
    others = [MemberFactory() for _ in range(3)]
    context = DemoContext(seed=1, members=3, rng=random.Random(1), fake=None)

    demo.seed(context)
    demo.seed(context)

    grants = Entry.objects.filter(cause_kind="demo")
    assert sorted(grants.values_list("cause_id", "member_id")) == sorted(
        (member.pk, member.pk) for member in [welcomed, *others]
    )
    assert set(grants.values_list("idempotency_key", flat=True)) == {None}
    assert grants.get(member=welcomed).amount == demo.DEMO_HISTORY_POINTS

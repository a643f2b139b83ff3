"""Segments count exactly what a hand count over generated data says; rule tags follow them."""

import random
from datetime import date, timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from apps.core.errors import PermissionDenied
from apps.members.models import Member, MemberTag, Segment, Tag
from apps.members.segments import (
    SegmentCriteria,
    member_ids_after,
    rule_tag_refresh,
    segment_members,
)
from apps.members.services import member_tag_add
from tests.distributors.factories import DistributorFactory
from tests.members.factories import MemberFactory
from tests.stores.factories import StaffFactory, StoreFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def population():
    rng = random.Random(7)
    dealer = DistributorFactory()
    stores = [StoreFactory(distributor=dealer), StoreFactory(distributor=dealer), StoreFactory()]
    vip = Tag.objects.create(name="VIP")
    now = timezone.now()
    members = []
    for n in range(300):
        joined = now - timedelta(days=rng.randint(0, 700))
        member = MemberFactory(
            phone=f"1370000{n:04d}",
            home_store=rng.choice(stores),
            joined_at=joined,
            last_active_at=rng.choice([None, joined + timedelta(days=rng.randint(0, 30))]),
            birthday=rng.choice([None, date(1990, rng.randint(1, 12), 10)]),
            marketing_consent=rng.random() < 0.5,
            status=rng.choice([Member.Status.ACTIVE] * 9 + [Member.Status.FROZEN]),
        )
        if rng.random() < 0.3:
            MemberTag.objects.create(member=member, tag=vip)
        members.append(member)
    return {"members": members, "stores": stores, "dealer": dealer, "vip": vip, "now": now}


def hand_count(population, keep) -> int:
    return sum(1 for m in population["members"] if m.status == Member.Status.ACTIVE and keep(m))


def test_segment_counts_equal_hand_counts(population, django_assert_num_queries):
    p = population
    vip_ids = set(MemberTag.objects.filter(tag=p["vip"]).values_list("member_id", flat=True))
    cutoff = p["now"] - timedelta(days=90)
    cases = [
        (SegmentCriteria(), lambda m: True),
        (
            SegmentCriteria(distributor_ids=frozenset({p["dealer"].pk})),
            lambda m: m.home_store.distributor_id == p["dealer"].pk,
        ),
        (
            SegmentCriteria(home_store_ids=frozenset({p["stores"][2].pk})),
            lambda m: m.home_store == p["stores"][2],
        ),
        (
            SegmentCriteria(birthday_month=5),
            lambda m: m.birthday is not None and m.birthday.month == 5,
        ),
        (SegmentCriteria(inactive_days=90), lambda m: (m.last_active_at or m.joined_at) < cutoff),
        (SegmentCriteria(tag_ids=frozenset({p["vip"].pk})), lambda m: m.pk in vip_ids),
        (SegmentCriteria(marketing_consent=True), lambda m: m.marketing_consent),
        (
            SegmentCriteria(
                joined_from=(p["now"] - timedelta(days=365)).date(),
                marketing_consent=False,
                distributor_ids=frozenset({p["dealer"].pk}),
            ),
            lambda m: (
                timezone.localtime(m.joined_at).date() >= (p["now"] - timedelta(days=365)).date()
                and not m.marketing_consent
                and m.home_store.distributor_id == p["dealer"].pk
            ),
        ),
    ]
    for criteria, keep in cases:
        with django_assert_num_queries(1):
            count = segment_members(criteria, now=p["now"]).count()
        assert count == hand_count(p, keep), criteria
        assert count > 0


def test_a_run_walks_a_segment_chunk_by_chunk_each_read_by_nested_loops(population):
    """A chunk's read joins by nested loops (a merge join read the tag table from its first
    member every chunk); the planner is as it was after it, inside a transaction or not."""
    vip = segment_members(SegmentCriteria(tag_ids=frozenset({population["vip"].pk})))
    expected = list(vip.order_by("pk").values_list("pk", flat=True))
    joins = "SELECT current_setting('enable_mergejoin'), current_setting('enable_hashjoin')"
    during = []

    def planner_seen(execute, sql, params, many, context):
        if sql.startswith('SELECT "members_member"."id"'):
            context["cursor"].execute(joins)
            during.append(context["cursor"].fetchone())
        return execute(sql, params, many, context)

    walked, after = [], 0
    with connection.execute_wrapper(planner_seen):
        while chunk := member_ids_after(vip, after=after, count=7):
            walked.append(chunk)
            after = chunk[-1]
        with transaction.atomic():
            member_ids_after(vip, after=0, count=7)
            with connection.cursor() as cursor:
                cursor.execute(joins)
                after_in_transaction = cursor.fetchone()

    assert [m for chunk in walked for m in chunk] == expected
    assert all(len(chunk) == 7 for chunk in walked[:-1])
    assert set(during) == {("off", "off")}
    assert after_in_transaction == ("on", "on")
    with connection.cursor() as cursor:
        cursor.execute(joins)
        assert cursor.fetchone() == ("on", "on")


def test_rule_tag_follows_its_segment_and_a_rerun_changes_nothing(population):
    segment = Segment.objects.create(name="五月寿星", birthday_month=5)
    tag = Tag.objects.create(name="五月寿星", segment=segment)
    expected = set(segment_members(SegmentCriteria.of(segment)).values_list("pk", flat=True))

    added, removed = rule_tag_refresh(tag=tag)

    assert (added, removed) == (len(expected), 0)
    assert set(tag.member_tags.values_list("member_id", flat=True)) == expected
    assert rule_tag_refresh(tag=tag) == (0, 0)

    leaver = Member.objects.get(pk=next(iter(expected)))
    leaver.birthday = date(1990, 6, 1)
    leaver.save()
    assert rule_tag_refresh(tag=tag) == (0, 1)


def test_store_staff_tag_only_their_members_with_their_tags():
    staff = StaffFactory()
    store_tag = Tag.objects.create(name="常客", store=staff.store)
    hq_tag = Tag.objects.create(name="VIP")
    mine, theirs = MemberFactory(home_store=staff.store), MemberFactory(home_store=StoreFactory())

    assert member_tag_add(tag=store_tag, members=[mine], actor=staff.user) == 1
    for tag, member in [(store_tag, theirs), (hq_tag, mine)]:
        with pytest.raises(PermissionDenied):
            member_tag_add(tag=tag, members=[member], actor=staff.user)
    assert MemberTag.objects.count() == 1

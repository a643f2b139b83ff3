"""Tiers and growth value: upgrades at the threshold, not a point before, once per key."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from apps.core.models import AuditEntry, Event, EventHandling
from apps.tiers.models import GrowthEntry, MemberTier, Tier, TierChange, TierChannelBenefit
from apps.tiers.rules import TierFacts, qualified_tier, review
from apps.tiers.selectors import member_tier, tier_summary, tiers_in_order
from apps.tiers.services import first_review, growth_earn, growth_reverse, tier_set_manual
from tests.conftest import run_together
from tests.core.factories import UserFactory
from tests.members.factories import MemberFactory, member_client

FACTS = [TierFacts(1, 0, 0), TierFacts(2, 1, 500), TierFacts(3, 2, 2000)]


@pytest.mark.parametrize(
    ("growth", "rank"), [(0, 0), (499, 0), (500, 1), (1999, 1), (2000, 2), (10**9, 2), (-5, 0)]
)
def test_qualified_tier_boundaries(growth, rank):
    assert qualified_tier(growth, FACTS).rank == rank


@pytest.fixture
def tiers(db):
    rows = [
        ("normal", "普通会员", 0, 0),
        ("silver", "白银会员", 1, 500),
        ("gold", "黄金会员", 2, 2000),
    ]
    return {
        code: Tier.objects.create(
            code=code,
            name=name,
            rank=rank,
            growth_threshold=threshold,
            discount_percent=Decimal(rank * 3),
        )
        for code, name, rank, threshold in rows
    }


def grow(member, amount, key, now=None, order_id=None):
    return growth_earn(
        member=member,
        amount=amount,
        key=None if order_id else key,
        kind="order",
        cause_kind="order" if order_id else "admin",
        cause_id=order_id,
        description="消费成长值",
        now=now,
    )


def test_a_member_starts_in_the_first_tier(tiers):
    member = MemberFactory()

    assert member_tier(member) == tiers["normal"]
    assert tier_summary(member)["growth"] == {
        "value": 0,
        "next_tier": "silver",
        "to_next": 500,
        "to_keep": 0,
        "next_tier_name": "白银会员",
        "keep_by": None,  # the first tier is never lost
    }


def test_upgrade_happens_at_the_threshold_and_not_a_point_before(
    tiers, django_capture_on_commit_callbacks
):
    member = MemberFactory()

    grow(member, 499, "a")
    assert member_tier(member) == tiers["normal"]
    with django_capture_on_commit_callbacks(execute=True):
        grow(member, 1, "b")

    assert member_tier(member) == tiers["silver"]
    change = TierChange.objects.get()
    assert (change.from_tier, change.to_tier, change.reason) == (
        tiers["normal"],
        tiers["silver"],
        "upgrade",
    )
    assert Event.objects.get(name="tier_changed").payload == {
        "member": member.pk,
        "from": "normal",
        "to": "silver",
        "reason": "upgrade",
    }


def test_a_big_purchase_can_skip_a_tier(tiers):
    member = MemberFactory()

    grow(member, 2500, "a")

    assert member_tier(member) == tiers["gold"]
    assert TierChange.objects.count() == 1


def test_a_replayed_key_grows_once(tiers):
    member = MemberFactory()

    grow(member, 300, "order:7")
    grow(member, 300, "order:7")

    assert GrowthEntry.objects.filter(member=member).count() == 1
    assert tier_summary(member)["growth"]["value"] == 300


def test_an_order_grows_once_and_a_refund_takes_back_once(tiers):
    member = MemberFactory()

    first = grow(member, 300, "", order_id=7)
    again = grow(member, 300, "", order_id=7)
    back = growth_reverse(order_id=7, refund_id=3, description="退货扣减成长值", amount=100)
    back_again = growth_reverse(order_id=7, refund_id=3, description="退货扣减成长值", amount=100)

    assert again.pk == first.pk and back_again.pk == back.pk
    assert list(
        GrowthEntry.objects.order_by("pk").values_list("cause_kind", "cause_id", "amount", "key")
    ) == [("order", 7, 300, None), ("refund", 3, -100, None)]


def test_the_database_refuses_a_second_growth_entry_for_an_order(tiers):
    member = MemberFactory()
    grow(member, 300, "", order_id=7)

    with pytest.raises(IntegrityError), transaction.atomic():
        GrowthEntry.objects.create(
            member=member, kind="order", amount=300, cause_kind="order", cause_id=7, description="d"
        )

    assert GrowthEntry.objects.count() == 1


@pytest.mark.parametrize("cause_kind", ["join", "profile_complete", "demo"])
def test_joining_the_profile_and_the_demo_give_growth_once_without_a_key(tiers, cause_kind):
    member = MemberFactory()

    def action(amount):
        return growth_earn(
            member=member,
            amount=amount,
            kind="action",
            cause_kind=cause_kind,
            cause_id=member.pk,
            description="d",
        )

    first, again = action(300), action(300)

    assert again.pk == first.pk and first.key is None
    with pytest.raises(IntegrityError), transaction.atomic():
        GrowthEntry.objects.create(
            member=member, kind="action", amount=1, cause_kind=cause_kind, cause_id=member.pk
        )
    assert GrowthEntry.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_members_of_one_tier_grow_at_once_without_waiting_on_each_other(tiers):
    """Growth locks the member's tier row, never the tier itself that all its members share."""
    first, second = MemberFactory(), MemberFactory()
    grow(first, 100, "first")  # both already hold the first tier
    grow(second, 100, "second")

    def grow_second():
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL lock_timeout = '2s'")
            return grow(second, 100, "second:again")

    with transaction.atomic():
        grow(first, 100, "first:again")  # its locks held until this block ends
        (entry,) = run_together(grow_second, 1)

    assert entry.amount == 100


def test_growth_finds_a_tier_newer_than_the_cached_list(tiers):
    member = MemberFactory()
    grow(member, 100, "first")
    tiers_in_order()  # cached now, without the tier made below
    platinum = Tier.objects.create(code="platinum", name="铂金会员", rank=3, growth_threshold=10**6)
    MemberTier.objects.filter(member=member).update(tier=platinum)

    grow(member, 100, "second")

    assert GrowthEntry.objects.filter(member=member).count() == 2
    assert MemberTier.objects.get().tier == platinum


def test_joining_and_completing_the_profile_earn_growth_once_each(
    tiers, api_client, settings, django_capture_on_commit_callbacks
):
    from apps.core.events import event_dispatch
    from apps.members.models import Member
    from apps.members.services import member_profile_update

    settings.GROWTH_FOR_JOINING, settings.GROWTH_FOR_PROFILE = 300, 200
    with django_capture_on_commit_callbacks(execute=True):
        api_client.post(
            "/api/v1/auth/login", {"phone": "13800000000", "code": "123456"}, format="json"
        )
    member = Member.objects.get(phone="13800000000")
    with django_capture_on_commit_callbacks(execute=True):
        member_profile_update(
            member=member, name="王芳", gender="female", birthday=date(1990, 5, 1)
        )
    joined = Event.objects.get(name="member_joined")
    Event.objects.filter(pk=joined.pk).update(status=Event.Status.PENDING)
    EventHandling.objects.filter(event=joined).delete()  # as if the handling was lost
    event_dispatch(event_id=joined.pk)

    assert [(g.kind, g.amount, g.description) for g in member.growth_entries.order_by("pk")] == [
        ("action", 300, "加入会员得成长值"),
        ("action", 200, "完善资料得成长值"),
    ]
    assert member_tier(member) == tiers["silver"]


def test_no_growth_for_actions_when_set_to_nothing(
    tiers, settings, django_capture_on_commit_callbacks
):
    from apps.members.services import member_profile_update

    settings.GROWTH_FOR_PROFILE = 0
    member = MemberFactory(name="", gender="", birthday=None)

    with django_capture_on_commit_callbacks(execute=True):
        member_profile_update(
            member=member, name="王芳", gender="female", birthday=date(1990, 5, 1)
        )

    assert Event.objects.filter(name="member_profile_completed").exists()
    assert not GrowthEntry.objects.exists()


def test_only_growth_within_the_window_counts(tiers, settings):
    settings.TIER_GROWTH_WINDOW_MONTHS = 12
    member = MemberFactory()
    grow(member, 400, "old", now=timezone.now() - timedelta(days=400))

    grow(member, 200, "new")

    assert member_tier(member) == tiers["normal"]  # 600 in all, but only 200 in the last year
    assert tier_summary(member)["growth"]["value"] == 200


def test_a_refund_takes_growth_back_but_the_tier_waits_for_its_review(tiers):
    member = MemberFactory()
    grow(member, 600, "", order_id=1)

    growth_reverse(order_id=1, refund_id=1, description="退货扣减成长值")

    assert tier_summary(member)["growth"]["value"] == 0
    assert member_tier(member) == tiers["silver"]


def test_to_keep_counts_only_the_growth_still_in_the_window_at_the_review(tiers):
    member, now = MemberFactory(), timezone.now()
    grow(member, 400, "old", now=now - timedelta(days=330))
    grow(member, 200, "recent", now=now - timedelta(days=90))  # 600: silver from then

    growth = tier_summary(member)["growth"]

    review_on = first_review(now - timedelta(days=90))
    assert MemberTier.objects.get(member=member).review_on == review_on
    # by the review the 400 has left the window: 200 of the 500 silver needs still counts
    assert (growth["value"], growth["to_keep"], growth["keep_by"]) == (600, 300, review_on)
    assert (growth["next_tier_name"], growth["to_next"]) == ("黄金会员", 1400)


@pytest.mark.parametrize(("floor_days", "to_keep"), [(400, 0), (30, 2000 - 100)])
def test_a_floor_that_holds_at_the_review_leaves_nothing_to_keep(tiers, floor_days, to_keep):
    member, hq = MemberFactory(), UserFactory(is_staff=True)
    grow(member, 100, "a")
    until = timezone.localdate() + timedelta(days=floor_days)

    tier_set_manual(member=member, tier=tiers["gold"], until=until, actor=hq, reason="VIP 客户")

    growth = tier_summary(member)["growth"]
    assert (growth["to_keep"], growth["keep_by"]) == (to_keep, first_review(timezone.now()))


def test_hq_sets_a_tier_as_a_floor_audited(tiers):
    member, hq = MemberFactory(), UserFactory(is_staff=True)
    until = date.today() + timedelta(days=90)

    state = tier_set_manual(
        member=member, tier=tiers["gold"], until=until, actor=hq, reason="VIP 客户"
    )

    assert (state.tier, state.floor, state.floor_until) == (tiers["gold"], tiers["gold"], until)
    assert TierChange.objects.get().reason == "manual"
    assert AuditEntry.objects.filter(action="tier.manual", actor=hq).exists()


def test_me_and_the_pos_show_the_tier(tiers, api_client):
    from tests.stores.factories import StoreFactory, pos_key_for

    member = MemberFactory(phone="13912345678")
    TierChannelBenefit.objects.create(
        tier=tiers["silver"], channel="store", discount_percent=Decimal("4.5")
    )
    Tier.objects.filter(pk=tiers["silver"].pk).update(birthday_gift="生日 50 积分")
    grow(member, 800, "a")

    me = member_client(api_client, member).get("/api/v1/me").json()
    api_client.credentials(HTTP_AUTHORIZATION=f"Api-Key {pos_key_for(StoreFactory())}")
    pos = api_client.post(
        "/api/pos/v1/members/identify", {"phone": "13912345678"}, format="json"
    ).json()

    assert me["tier"] == {
        "code": "silver",
        "name": "白银会员",
        "rank": 1,
        "benefits": {
            "discount_percent": "3.00",
            "points_multiplier": "1.00",
            "birthday_gift": "生日 50 积分",
            "free_shipping": False,
            "members_only_access": False,
            "channels": [{"channel": "store", "discount_percent": "4.50"}],
        },
    }
    assert me["growth"] == {
        "value": 800,
        "next_tier": "gold",
        "to_next": 1200,
        "to_keep": 0,
        "next_tier_name": "黄金会员",
        "keep_by": first_review(timezone.now()).isoformat(),
    }
    assert pos["tier"] == {"code": "silver", "name": "白银会员", "rank": 1}
    assert MemberTier.objects.get(member=member).tier == tiers["silver"]


@pytest.mark.django_db
def test_growth_is_kept_before_any_tier_exists(api_client):
    member = MemberFactory()

    grow(member, 300, "a")

    assert tier_summary(member) == {
        "tier": None,
        "growth": {
            "value": 300,
            "next_tier": None,
            "to_next": None,
            "to_keep": None,
            "next_tier_name": None,
            "keep_by": None,
        },
    }
    assert member_client(api_client, member).get("/api/v1/me").json()["tier"] is None


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        (dict(current=2, qualified=2, floor=None, in_grace=False, grace_ended=False), (2, False)),
        (
            dict(current=2, qualified=0, floor=None, in_grace=False, grace_ended=False),
            (2, True),
        ),  # warned
        (
            dict(current=2, qualified=0, floor=None, in_grace=True, grace_ended=False),
            (2, False),
        ),  # waits
        (
            dict(current=2, qualified=0, floor=None, in_grace=False, grace_ended=True),
            (1, False),
        ),  # drops one
        (
            dict(current=2, qualified=0, floor=2, in_grace=False, grace_ended=False),
            (2, False),
        ),  # floor holds
        (dict(current=3, qualified=0, floor=2, in_grace=False, grace_ended=True), (2, False)),
    ],
)
def test_review_decisions(case, expected):
    decision = review(**case, grace_days=30, policy="drop_one")

    assert (decision.rank, decision.start_grace) == expected


def test_reevaluate_policy_goes_to_the_tier_the_growth_reaches():
    decision = review(
        current=3,
        qualified=1,
        floor=None,
        in_grace=False,
        grace_ended=True,
        grace_days=30,
        policy="reevaluate",
    )

    assert decision.rank == 1


def test_the_nightly_review_warns_then_downgrades_and_reruns_do_nothing(tiers, settings):
    from apps.tiers.services import tiers_review_due

    settings.TIER_GRACE_DAYS = 20  # shorter than any month: the keeper is not due again by then
    settings.TIER_DOWNGRADE = "drop_one"
    keeper, slipper = MemberFactory(), MemberFactory()
    year_ago = timezone.now() - timedelta(days=370)
    grow(keeper, 2000, "k-old", now=year_ago)
    grow(keeper, 2100, "k-new")  # still 2,100 in the window: keeps gold
    grow(slipper, 2000, "s-old", now=year_ago)  # nothing this year
    MemberTier.objects.update(review_on=timezone.localdate())
    today = timezone.localdate()

    first = tiers_review_due(today=today)
    again = tiers_review_due(today=today)
    ends = tiers_review_due(today=today + timedelta(days=20))

    assert first == {"kept": 1, "warned": 1, "downgraded": 0}
    assert again == {"kept": 0, "warned": 0, "downgraded": 0}
    assert ends == {"kept": 0, "warned": 0, "downgraded": 1}
    assert member_tier(keeper) == tiers["gold"] and member_tier(slipper) == tiers["silver"]
    warning = Event.objects.get(name="tier_downgrade_warning")
    assert warning.payload["member"] == slipper.pk and warning.payload["growth_needed"] == 2000
    assert TierChange.objects.filter(member=slipper, reason="downgrade").count() == 1


def test_the_review_runs_in_as_many_queries_for_60_members_as_for_20(tiers):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from apps.tiers.services import tiers_review_due

    year_ago = timezone.now() - timedelta(days=370)

    def queries_to_review(count):
        """A third drop from gold after their grace, a third keep silver, a third are warned."""
        members = [MemberFactory() for _ in range(count)]
        for n, member in enumerate(members):
            grow(member, [2000, 600, 600][n % 3], f"g{member.pk}", now=year_ago)
            if n % 3 == 1:
                grow(member, 600, f"h{member.pk}")
        states = MemberTier.objects.filter(member__in=members)
        states.update(review_on=timezone.localdate())
        states.filter(member__in=members[::3]).update(grace_until=timezone.localdate())
        with CaptureQueriesContext(connection) as captured:
            outcome = tiers_review_due(batch=100)
        assert outcome == {"kept": count // 3, "warned": count // 3, "downgraded": count // 3}
        return len(captured)

    assert queries_to_review(21) == queries_to_review(60) <= 15


def test_a_review_in_small_batches_reaches_every_member_once(tiers):
    from apps.tiers.services import tiers_review_due

    members = [MemberFactory() for _ in range(10)]
    for member in members:
        grow(member, 600, f"g{member.pk}")
    MemberTier.objects.filter(member__in=members).update(review_on=timezone.localdate())

    assert tiers_review_due(batch=3) == {"kept": 10, "warned": 0, "downgraded": 0}
    assert tiers_review_due(batch=3) == {"kept": 0, "warned": 0, "downgraded": 0}


def test_customer_service_sets_a_tier_in_the_console(tiers, client):
    from django.contrib.auth.models import Group

    from apps.core import roles

    user = UserFactory(is_staff=True)
    user.groups.add(Group.objects.get(name=roles.CUSTOMER_SERVICE))
    client.force_login(user)
    member = MemberFactory(phone="13912345678")
    until = (timezone.localdate() + timedelta(days=90)).isoformat()

    page = client.get("/admin/tiers/membertier/set/")
    past = client.post(
        "/admin/tiers/membertier/set/",
        {"member": "13912345678", "tier": tiers["gold"].pk, "until": "2020-01-01", "reason": "x"},
    )
    done = client.post(
        "/admin/tiers/membertier/set/",
        {"member": "139 1234 5678", "tier": tiers["gold"].pk, "until": until, "reason": "VIP"},
    )

    assert page.status_code == 200 and past.status_code == 200
    assert done.status_code == 302
    assert member_tier(member) == tiers["gold"]
    assert AuditEntry.objects.get(action="tier.manual").actor == user


def test_a_segment_by_tier_counts_members_never_reviewed_in_the_first_tier(tiers, hq_client):
    from apps.members.models import Segment
    from apps.members.segments import SegmentCriteria, segment_members

    silver_member, gold_member, newcomer = MemberFactory(), MemberFactory(), MemberFactory()
    grow(silver_member, 600, "s")
    grow(gold_member, 2500, "g")

    def codes(*wanted):
        return set(segment_members(SegmentCriteria(extra={"tiers": list(wanted)})))

    assert codes("gold") == {gold_member}
    assert codes("normal", "silver") == {newcomer, silver_member}

    response = hq_client.post(
        "/admin/members/segment/add/", {"name": "高等级会员", "tiers": ["silver", "gold"]}
    )
    segment = Segment.objects.get(name="高等级会员")
    preview = hq_client.get("/admin/members/segment/preview/", {"tiers": ["gold"]}).json()
    page = hq_client.get(f"/admin/members/segment/{segment.pk}/change/")

    assert response.status_code == 302 and segment.extra == {"tiers": ["gold", "silver"]}
    assert set(segment_members(SegmentCriteria.of(segment))) == {silver_member, gold_member}
    assert preview["count"] == 1
    assert page.context["adminform"].form.initial["tiers"] == [tiers["silver"], tiers["gold"]]

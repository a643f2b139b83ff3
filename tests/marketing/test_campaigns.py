"""Campaigns: triggers, limits, budgets, lifecycle, control group and holdout, and that no
run, retried or concurrent, gives anybody anything twice."""

from collections import Counter
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django_celery_beat.models import PeriodicTask

from apps.core.events import event_emit
from apps.core.models import AuditEntry
from apps.coupons.models import Coupon
from apps.marketing import campaigns as campaigns_module
from apps.marketing.audience import in_share
from apps.marketing.campaigns import (
    campaign_dry_run,
    campaign_run,
    campaign_transition,
    member_day_last,
)
from apps.marketing.errors import CampaignHasNoActions, CampaignTransitionInvalid
from apps.marketing.models import (
    Campaign,
    CampaignAction,
    CampaignGrant,
    CampaignMember,
    CampaignOccurrence,
    ControlGroup,
    Message,
)
from apps.members.models import MemberTag, Segment, Tag
from apps.members.services import member_join_or_find
from apps.points.models import Entry, Lot
from apps.points.services import points_earn
from apps.points.verification import ledger_problems
from apps.tiers.models import GrowthEntry, MemberTier, Tier, TierChange
from apps.tiers.services import growth_earn
from tests.conftest import run_together
from tests.coupons.factories import CouponTemplateFactory
from tests.distributors.factories import DistributorFactory
from tests.marketing.factories import MessageTemplateFactory
from tests.members.factories import MemberFactory
from tests.stores.factories import StoreFactory

pytestmark = pytest.mark.django_db
SHANGHAI = ZoneInfo("Asia/Shanghai")
DAY = date(2027, 3, 10)  # a Wednesday
NOW = datetime.combine(DAY, time(10), tzinfo=SHANGHAI)


def make_campaign(*actions, status="running", **fields) -> Campaign:
    fields.setdefault("trigger", "once")
    fields.setdefault("starts_at", NOW - timedelta(days=1))
    campaign = Campaign.objects.create(name=f"活动 {Campaign.objects.count()}", **fields)
    for action in actions or ({"kind": "points", "amount": 10},):
        CampaignAction.objects.create(campaign=campaign, **action)
    Campaign.objects.filter(pk=campaign.pk).update(status=status)
    campaign.refresh_from_db()
    return campaign


def points_of(member) -> int:
    return sum(
        Entry.objects.filter(member=member, cause_kind="campaign").values_list("amount", flat=True)
    )


def grants() -> Counter:
    return Counter(CampaignGrant.objects.values_list("member_id", "action__kind"))


# Scheduled triggers


def test_a_once_campaign_gives_every_member_each_action_once_however_often_it_runs():
    template = CouponTemplateFactory(claimable=False, total_stock=None)
    tag = Tag.objects.create(name="春季活动")
    inbox = MessageTemplateFactory(body="{coupon} 已到账")
    members = [MemberFactory(marketing_consent=True) for _ in range(5)]
    campaign = make_campaign(
        {"kind": "coupon", "coupon_template": template},
        {"kind": "points", "amount": 50},
        {"kind": "growth", "amount": 20},
        {"kind": "message", "message_template": inbox},
        {"kind": "tag_add", "tag": tag},
    )

    for _ in range(3):
        campaign_run(campaign_id=campaign.pk, now=NOW, batch=2)

    assert Coupon.objects.filter(template=template).count() == 5
    assert [points_of(member) for member in members] == [50] * 5
    assert GrowthEntry.objects.filter(cause_kind="campaign").count() == 5
    assert Message.objects.filter(template=inbox).count() == 5
    assert Message.objects.first().body == f"{template.name} 已到账"
    assert MemberTag.objects.filter(tag=tag).count() == 5
    assert set(grants().values()) == {1}


def test_removing_a_tag():
    tag = Tag.objects.create(name="沉睡")
    member = MemberFactory()
    MemberTag.objects.create(member=member, tag=tag)
    campaign = make_campaign({"kind": "tag_remove", "tag": tag})

    campaign_run(campaign_id=campaign.pk, now=NOW)

    assert not MemberTag.objects.filter(tag=tag).exists()


def test_a_member_day_gives_again_on_the_next_member_day_only():
    member = MemberFactory()
    campaign = make_campaign(trigger="weekly", weekday=3)

    campaign_run(campaign_id=campaign.pk, now=NOW)
    campaign_run(campaign_id=campaign.pk, now=NOW + timedelta(hours=3))
    assert points_of(member) == 10
    campaign_run(campaign_id=campaign.pk, now=NOW + timedelta(days=7))

    assert points_of(member) == 20


def test_a_member_days_run_that_comes_back_the_next_day_finishes_that_member_day():
    member = MemberFactory()
    weekly = make_campaign(trigger="weekly", weekday=DAY.isoweekday())
    monthly = make_campaign(trigger="monthly", month_day=DAY.day)

    for campaign in (weekly, monthly):
        campaign_run(campaign_id=campaign.pk, now=NOW)
        campaign_run(campaign_id=campaign.pk, now=NOW + timedelta(days=1, hours=-9))

    assert points_of(member) == 20
    assert [o.key for o in CampaignOccurrence.objects.filter(campaign=monthly)] == [DAY.isoformat()]


@pytest.mark.parametrize(
    ("today", "weekday", "month_day", "member_day"),
    [
        (date(2026, 12, 3), 4, None, date(2026, 12, 3)),  # a Thursday, itself
        (date(2026, 12, 3), 5, None, date(2026, 11, 27)),  # last Friday
        (date(2026, 12, 3), 3, None, date(2026, 12, 2)),
        (date(2026, 12, 3), None, 3, date(2026, 12, 3)),
        (date(2026, 12, 3), None, 28, date(2026, 11, 28)),
        (date(2027, 1, 5), None, 20, date(2026, 12, 20)),  # across a year
    ],
)
def test_the_last_member_day(today, weekday, month_day, member_day):
    assert member_day_last(today, weekday=weekday, month_day=month_day) == member_day


def test_the_per_member_limit_holds_across_member_days():
    member = MemberFactory()
    campaign = make_campaign(
        {"kind": "points", "amount": 10, "per_member_limit": 2}, trigger="weekly", weekday=3
    )

    for week in range(4):
        campaign_run(campaign_id=campaign.pk, now=NOW + timedelta(days=7 * week))

    assert points_of(member) == 20


def test_birthdays_on_the_day_and_in_the_month_once_a_year():
    today = MemberFactory(birthday=date(1990, 3, 10))
    later = MemberFactory(birthday=date(1991, 3, 25))
    MemberFactory(birthday=date(1992, 4, 10))
    on_day = make_campaign(trigger="birthday_day")
    in_month = make_campaign({"kind": "points", "amount": 5}, trigger="birthday_month")

    for now in (NOW, NOW + timedelta(days=1)):
        campaign_run(campaign_id=on_day.pk, now=now)
        campaign_run(campaign_id=in_month.pk, now=now)

    assert (points_of(today), points_of(later)) == (15, 5)
    campaign_run(campaign_id=on_day.pk, now=NOW + timedelta(days=15))
    assert points_of(later) == 15
    campaign_run(campaign_id=on_day.pk, now=NOW.replace(year=2028))
    assert points_of(today) == 25


def test_a_member_born_on_29_february_has_the_birthday_campaign_on_the_28th_in_other_years():
    leap_baby = MemberFactory(birthday=date(1992, 2, 29))
    campaign = make_campaign(trigger="birthday_day")
    feb_28 = datetime(2027, 2, 28, 10, tzinfo=SHANGHAI)

    campaign_run(campaign_id=campaign.pk, now=feb_28 - timedelta(days=1))
    assert points_of(leap_baby) == 0
    campaign_run(campaign_id=campaign.pk, now=feb_28)
    campaign_run(campaign_id=campaign.pk, now=feb_28 + timedelta(days=1))  # 1 March
    assert points_of(leap_baby) == 10


def test_dormant_members():
    asleep = MemberFactory(last_active_at=NOW - timedelta(days=90))
    MemberFactory(last_active_at=NOW - timedelta(days=10))
    campaign = make_campaign(trigger="dormant", days=60)

    campaign_run(campaign_id=campaign.pk, now=NOW)

    assert list(CampaignGrant.objects.values_list("member_id", flat=True)) == [asleep.pk]


def test_points_expiring_within_n_days():
    soon, later = MemberFactory(), MemberFactory()
    for member, key in ((soon, "s"), (later, "l")):
        points_earn(
            member=member, amount=100, cause_kind="admin", description="t", pending=False, key=key
        )
    Lot.objects.filter(member=soon).update(expires_on=DAY + timedelta(days=10))
    Lot.objects.filter(member=later).update(expires_on=DAY + timedelta(days=100))
    campaign = make_campaign({"kind": "points", "amount": 1}, trigger="points_expiring", days=30)

    campaign_run(campaign_id=campaign.pk, now=NOW)
    campaign_run(campaign_id=campaign.pk, now=NOW + timedelta(days=1))

    assert list(CampaignGrant.objects.values_list("member_id", flat=True)) == [soon.pk]


def test_entering_a_segment_gives_once_the_first_day_a_member_is_in_it():
    store = StoreFactory()
    segment = Segment.objects.create(name="文三路店会员")
    segment.home_stores.add(store)
    first = MemberFactory(home_store=store)
    campaign = make_campaign(trigger="segment_entered", audience="segment", segment=segment)

    campaign_run(campaign_id=campaign.pk, now=NOW)
    second = MemberFactory(home_store=store)
    campaign_run(campaign_id=campaign.pk, now=NOW + timedelta(days=1))

    assert (points_of(first), points_of(second)) == (10, 10)


def test_the_audience_by_tier_and_by_dealer():
    Tier.objects.create(code="normal", name="普通会员", rank=0, growth_threshold=0)
    gold = Tier.objects.create(code="gold", name="黄金会员", rank=1, growth_threshold=100)
    golden, plain = MemberFactory(), MemberFactory()
    MemberTier.objects.create(member=golden, tier=gold)
    dealer_store = StoreFactory(distributor=DistributorFactory())
    dealers = MemberFactory(home_store=dealer_store)
    by_tier = make_campaign(audience="tier", tier=gold)
    by_dealer = make_campaign(audience="distributor", distributor=dealer_store.distributor)

    campaign_run(campaign_id=by_tier.pk, now=NOW)
    campaign_run(campaign_id=by_dealer.pk, now=NOW)

    assert list(by_tier.grants.values_list("member_id", flat=True)) == [golden.pk]
    assert list(by_dealer.grants.values_list("member_id", flat=True)) == [dealers.pk]
    assert points_of(plain) == 0


def test_the_audience_a_store_with_consent_only():
    store = StoreFactory()
    mine = MemberFactory(home_store=store, marketing_consent=True)
    MemberFactory(home_store=store)
    MemberFactory(marketing_consent=True)
    campaign = make_campaign(audience="store", store=store, consent_only=True)

    campaign_run(campaign_id=campaign.pk, now=NOW)

    assert list(CampaignGrant.objects.values_list("member_id", flat=True)) == [mine.pk]


# Event triggers


def test_joining_triggers_a_welcome_campaign_once(django_capture_on_commit_callbacks):
    make_campaign(trigger="joined")

    with django_capture_on_commit_callbacks(execute=True):
        member, _created = member_join_or_find(phone="13700000001", source="miniprogram")
    with django_capture_on_commit_callbacks(execute=True):
        member_join_or_find(phone="13700000001", source="miniprogram")

    assert points_of(member) == 10


def paid(member, order, *, payable="100.00", first=False):
    event_emit(
        name="order_paid",
        payload={
            "order": order,
            "member": member.pk,
            "store": None,
            "payable": payable,
            "first_purchase": first,
        },
    )


def test_orders_paid_first_order_and_the_minimum(django_capture_on_commit_callbacks):
    member = MemberFactory()
    each = make_campaign(
        {"kind": "points", "amount": 1}, trigger="order_paid", min_payable=Decimal("50")
    )
    first = make_campaign({"kind": "points", "amount": 100}, trigger="first_order")

    with django_capture_on_commit_callbacks(execute=True):
        paid(member, 1, first=True)
        paid(member, 2, payable="20.00")
        paid(member, 3)

    assert points_of(member) == 102
    assert CampaignGrant.objects.filter(campaign=each).count() == 2
    assert CampaignGrant.objects.filter(campaign=first).count() == 1


def test_a_tier_upgrade(django_capture_on_commit_callbacks):
    Tier.objects.create(code="normal", name="普通会员", rank=0, growth_threshold=0)
    Tier.objects.create(code="gold", name="黄金会员", rank=1, growth_threshold=100)
    member = MemberFactory()
    make_campaign({"kind": "points", "amount": 7}, trigger="tier_up")

    with django_capture_on_commit_callbacks(execute=True):
        growth_earn(
            member=member, amount=50, key="a", kind="order", cause_kind="admin", description="d"
        )
    assert points_of(member) == 0
    with django_capture_on_commit_callbacks(execute=True):
        growth_earn(
            member=member, amount=60, key="b", kind="order", cause_kind="admin", description="d"
        )

    assert points_of(member) == 7


def test_growth_a_campaign_gives_moves_members_up_at_once_and_the_ledger_holds():
    Tier.objects.create(code="normal", name="普通会员", rank=0, growth_threshold=0)
    gold = Tier.objects.create(code="gold", name="黄金会员", rank=1, growth_threshold=100)
    almost, far = MemberFactory(), MemberFactory()
    growth_earn(
        member=almost, amount=60, key="a", kind="order", cause_kind="admin", description="d"
    )
    campaign = make_campaign({"kind": "growth", "amount": 50}, {"kind": "points", "amount": 5})

    campaign_run(campaign_id=campaign.pk, now=NOW)

    tiers = dict(MemberTier.objects.values_list("member_id", "tier_id"))
    assert tiers[almost.pk] == gold.pk and tiers[far.pk] != gold.pk
    assert TierChange.objects.filter(member=almost, to_tier=gold).count() == 1
    assert [points_of(almost), points_of(far)] == [5, 5]
    assert not ledger_problems()


@pytest.mark.parametrize(
    ("trigger", "event", "payload"),
    [
        ("tier_warning", "tier_downgrade_warning", {"tier": "gold", "until": "2027-04-01"}),
        ("coupons_expiring", "coupons_expiring", {"coupons": []}),
    ],
)
def test_warnings_of_a_downgrade_and_of_expiring_coupons(
    django_capture_on_commit_callbacks, trigger, event, payload
):
    member = MemberFactory()
    make_campaign(trigger=trigger)

    with django_capture_on_commit_callbacks(execute=True):
        event_emit(name=event, payload={"member": member.pk, **payload})
        event_emit(name=event, payload={"member": member.pk, **payload})

    assert points_of(member) == 20  # each warning is its own occurrence


def test_a_campaign_not_running_does_not_act(django_capture_on_commit_callbacks):
    member = MemberFactory()
    paused = make_campaign(status="paused")
    make_campaign(trigger="joined", status="draft")

    campaign_run(campaign_id=paused.pk, now=NOW)
    with django_capture_on_commit_callbacks(execute=True):
        member_join_or_find(phone="13700000002", source="miniprogram")

    assert points_of(member) == 0
    assert not CampaignGrant.objects.exists()


# Budget


def test_the_budget_stops_the_campaign_when_spent():
    members = [MemberFactory() for _ in range(5)]
    campaign = make_campaign({"kind": "points", "amount": 10}, budget_points=30)

    campaign_run(campaign_id=campaign.pk, now=NOW, batch=2)

    assert sum(points_of(member) for member in members) == 30
    campaign.refresh_from_db()
    assert campaign.status == "ended"
    entry = AuditEntry.objects.get(action="campaign.ended")
    assert entry.actor_label == "system"


def test_a_periodic_budget_pauses_it_for_the_period():
    for _ in range(3):
        MemberFactory()
    campaign = make_campaign(
        {"kind": "message", "message_template": MessageTemplateFactory()},
        trigger="weekly",
        weekday=3,
        budget_messages=2,
        budget_period="week",
    )

    campaign_run(campaign_id=campaign.pk, now=NOW)

    assert Message.objects.count() == 2
    campaign.refresh_from_db()
    assert campaign.status == "paused"


def test_a_coupon_out_of_stock_gives_what_there_is():
    template = CouponTemplateFactory(claimable=False, total_stock=2)
    for _ in range(4):
        MemberFactory()
    campaign = make_campaign({"kind": "coupon", "coupon_template": template})

    campaign_run(campaign_id=campaign.pk, now=NOW)

    assert Coupon.objects.count() == CampaignGrant.objects.count() == 2


# Lifecycle


def test_the_lifecycle_is_audited_and_keeps_its_beat_schedule(hq_user):
    campaign = make_campaign(status="draft", trigger="weekly", weekday=3)

    for status in ("scheduled", "running", "paused", "running", "ended"):
        if status == "running" and campaign.status == "scheduled":
            campaign_run(campaign_id=campaign.pk, now=NOW)
            campaign.refresh_from_db()
        else:
            campaign = campaign_transition(campaign=campaign, to=status, actor=hq_user)
        assert campaign.status == status
        schedule = PeriodicTask.objects.filter(name=f"marketing: campaign {campaign.pk}").first()
        if status == "ended":
            assert schedule is None
        else:
            assert schedule.enabled == (status != "paused")
            assert schedule.crontab.day_of_week == "3"

    assert list(
        AuditEntry.objects.filter(target_id=str(campaign.pk))
        .order_by("pk")
        .values_list("action", flat=True)
    ) == [f"campaign.{s}" for s in ("scheduled", "running", "paused", "running", "ended")]


@pytest.mark.parametrize(
    ("status", "to"),
    [("draft", "running"), ("draft", "paused"), ("ended", "running"), ("running", "scheduled")],
)
def test_invalid_transitions_are_refused_and_change_nothing(hq_user, status, to):
    campaign = make_campaign(status=status)

    with pytest.raises(CampaignTransitionInvalid):
        campaign_transition(campaign=campaign, to=to, actor=hq_user)

    campaign.refresh_from_db()
    assert campaign.status == status
    assert not AuditEntry.objects.filter(action__startswith="campaign.").exists()


def test_a_campaign_without_actions_cannot_be_scheduled(hq_user):
    campaign = make_campaign(status="draft")
    campaign.actions.all().delete()

    with pytest.raises(CampaignHasNoActions):
        campaign_transition(campaign=campaign, to="scheduled", actor=hq_user)


def test_a_campaign_ends_itself_after_its_end_date():
    member = MemberFactory()
    campaign = make_campaign(ends_at=NOW - timedelta(hours=1))

    campaign_run(campaign_id=campaign.pk, now=NOW)

    campaign.refresh_from_db()
    assert campaign.status == "ended"
    assert points_of(member) == 0


# Control group and holdout


def test_the_control_group_is_never_reached_and_the_holdout_gets_nothing():
    ControlGroup.objects.create(percent=Decimal("20"))
    members = [MemberFactory() for _ in range(200)]
    campaign = make_campaign(holdout_percent=Decimal("25"))
    control = ControlGroup.objects.get()

    campaign_run(campaign_id=campaign.pk, now=NOW)

    in_control = {
        m.pk for m in members if in_share(m.pk, percent=control.percent, salt=control.salt)
    }
    recorded = dict(CampaignMember.objects.values_list("member_id", "group"))
    given = set(CampaignGrant.objects.values_list("member_id", flat=True))
    assert 15 < len(in_control) < 70  # about 20% of 200
    assert not in_control & set(recorded)
    assert set(recorded) == {m.pk for m in members} - in_control
    holdout = {pk for pk, group in recorded.items() if group == "holdout"}
    assert 10 < len(holdout) < 70
    assert given == set(recorded) - holdout
    assert all(points_of(member) == 0 for member in members if member.pk in holdout)
    # The same members again, on any run.
    assert holdout == {
        pk for pk in recorded if in_share(pk, percent=campaign.holdout_percent, salt=campaign.salt)
    }


def test_the_dry_run_counts_the_audience_and_the_cost():
    for _ in range(40):
        MemberFactory()
    campaign = make_campaign(
        {"kind": "points", "amount": 10},
        {"kind": "coupon", "coupon_template": CouponTemplateFactory(claimable=False)},
        {"kind": "message", "message_template": MessageTemplateFactory()},
        holdout_percent=Decimal("10"),
        budget_messages=5,
    )

    figures = campaign_dry_run(campaign, now=NOW)

    assert figures["audience"] == 40
    reached = 40 - figures["holdout"]
    assert figures == {
        "audience": 40,
        "holdout": figures["holdout"],
        "reached": reached,
        "coupons": reached,
        "points": 10 * reached,
        "messages": 5,
    }
    campaign_run(campaign_id=campaign.pk, now=NOW)
    assert CampaignMember.objects.filter(group="holdout").count() == figures["holdout"]


def test_the_dry_run_leaves_out_members_who_had_an_action_as_often_as_it_may_be_given():
    for _ in range(6):
        MemberFactory()
    campaign = make_campaign(
        {"kind": "points", "amount": 10, "per_member_limit": 1},
        {"kind": "message", "message_template": MessageTemplateFactory()},
        trigger="weekly",
        weekday=3,
    )
    campaign_run(campaign_id=campaign.pk, now=NOW)
    newcomer = MemberFactory()
    next_week = NOW + timedelta(days=7)

    figures = campaign_dry_run(campaign, now=next_week)

    assert (figures["reached"], figures["points"], figures["messages"]) == (7, 10, 7)
    campaign_run(campaign_id=campaign.pk, now=next_week)
    assert Entry.objects.filter(cause_kind="campaign").count() == 7
    assert points_of(newcomer) == 10


# Exactly once


def test_a_worker_dying_mid_run_and_run_again_gives_nobody_anything_twice(monkeypatch):
    members = [MemberFactory() for _ in range(7)]
    campaign = make_campaign(
        {"kind": "points", "amount": 10}, {"kind": "tag_add", "tag": Tag.objects.create(name="t")}
    )
    perform, calls = campaigns_module._perform, []

    def dying(*args):
        calls.append(1)
        if len(calls) == 4:  # the second chunk's second action
            raise SystemExit("killed")
        return perform(*args)

    monkeypatch.setattr(campaigns_module, "_perform", dying)
    with pytest.raises(SystemExit):
        campaign_run(campaign_id=campaign.pk, now=NOW, batch=3)
    assert CampaignGrant.objects.count() == 6  # the first chunk only
    monkeypatch.setattr(campaigns_module, "_perform", perform)

    campaign_run(campaign_id=campaign.pk, now=NOW, batch=3)

    assert [points_of(member) for member in members] == [10] * 7
    assert set(grants().values()) == {1} and len(grants()) == 14


@pytest.mark.django_db(transaction=True)
def test_runs_at_once_give_nobody_anything_twice():
    members = [MemberFactory() for _ in range(30)]
    template = CouponTemplateFactory(claimable=False, total_stock=None)
    campaign = make_campaign(
        {"kind": "points", "amount": 10}, {"kind": "coupon", "coupon_template": template}
    )

    run_together(lambda: campaign_run(campaign_id=campaign.pk, now=NOW, batch=4), 4)

    assert [points_of(member) for member in members] == [10] * 30
    assert Coupon.objects.count() == 30
    assert set(grants().values()) == {1}

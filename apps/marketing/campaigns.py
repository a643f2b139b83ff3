"""Campaigns (营销活动) that run themselves: their lifecycle, their runs over the audience
and on events, and the dry run.

A run goes over the audience a chunk of members at a time, each chunk one transaction. A
scheduled run first locks the campaign's row (FOR NO KEY UPDATE): two runs of one campaign
(a retried job, a schedule's second tick) take turns, and the second finds what the first
gave. An event's run (an order paid) locks only its member's row, so orders paid at once do
not queue behind one campaign row. In a chunk, the members are recorded reached or held out
for the occurrence, then each action is given, set-based, to the reached members who have
no grant for it in this occurrence and are under its per-member limit, as far as the budget
goes: one `CampaignGrant` row per member, action and occurrence (unique), written with what
it gives, and the coupons, points, growth and messages of the chunk written at once. The
budget is taken from a spend counter per period by a conditional UPDATE, never past it; a
campaign without a budget has no counter to wait on. A worker that dies mid-chunk rolls
back the whole chunk, so a rerun starts again from the members without grants. A budget
spent pauses the campaign (a period's budget) or ends it (the whole campaign's)."""

import json
from datetime import date, datetime, timedelta

from django.db import transaction
from django.db.models import Count, F, Q, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from django_celery_beat.models import ClockedSchedule, CrontabSchedule, PeriodicTask

from apps.core.audit import audit_record
from apps.core.bulk import rows_insert
from apps.core.schedules import TIMEZONE
from apps.coupons.issuing import coupons_issue_together, stock_take
from apps.coupons.models import Coupon
from apps.marketing.audience import (
    campaign_audience,
    in_share,
    members_in_share,
    members_outside_share,
)
from apps.marketing.errors import CampaignHasNoActions, CampaignTransitionInvalid
from apps.marketing.locks import members_lock
from apps.marketing.models import (
    Campaign,
    CampaignAction,
    CampaignGrant,
    CampaignMember,
    CampaignOccurrence,
    CampaignSpend,
)
from apps.marketing.outbox import messages_queue
from apps.members.models import MemberTag
from apps.members.segments import member_ids_after
from apps.points.models import Entry
from apps.points.services import points_earn_together
from apps.tiers.models import GrowthEntry
from apps.tiers.services import growth_earn_together

CHUNK = 1000
Status = Campaign.Status
Trigger = Campaign.Trigger

TRANSITIONS = {
    Status.DRAFT: {Status.SCHEDULED, Status.ENDED},
    Status.SCHEDULED: {Status.RUNNING, Status.PAUSED, Status.ENDED},
    Status.RUNNING: {Status.PAUSED, Status.ENDED},
    Status.PAUSED: {Status.RUNNING, Status.ENDED},
    Status.ENDED: set(),
}
SCHEDULED_TRIGGERS = {
    Trigger.ONCE,
    Trigger.WEEKLY,
    Trigger.MONTHLY,
    Trigger.BIRTHDAY_DAY,
    Trigger.BIRTHDAY_MONTH,
    Trigger.DORMANT,
    Trigger.POINTS_EXPIRING,
    Trigger.SEGMENT_ENTERED,
}
# The budget each kind of action spends, and what one grant costs of it.
BUDGETS = {
    CampaignAction.Kind.COUPON: "budget_coupons",
    CampaignAction.Kind.POINTS: "budget_points",
    CampaignAction.Kind.MESSAGE: "budget_messages",
}


def action_cost(action: CampaignAction) -> int:
    if action.kind == CampaignAction.Kind.POINTS:
        return action.amount or 0
    return 1 if action.kind in BUDGETS else 0


# Lifecycle


@transaction.atomic
def campaign_transition(*, campaign: Campaign, to: str, actor, reason: str = "") -> Campaign:
    """Move the campaign to status `to`, if its lifecycle allows it; audited, and its beat
    schedule follows (on while scheduled or running, off while paused, gone once ended)."""
    campaign = _locked(campaign.pk)
    if to not in TRANSITIONS[campaign.status]:
        raise CampaignTransitionInvalid(
            current=campaign.get_status_display(), wanted=Status(to).label
        )
    if to == Status.SCHEDULED and not campaign.actions.exists():
        raise CampaignHasNoActions()
    _status_set(campaign, to, actor=actor, reason=reason)
    return campaign


def _status_set(campaign: Campaign, to: str, *, actor, reason: str = "") -> None:
    before = campaign.status
    campaign.status = to
    Campaign.objects.filter(pk=campaign.pk).update(status=to, updated_at=timezone.now())
    campaign_schedule_sync(campaign)
    audit_record(
        actor=actor,
        action=f"campaign.{to}",
        target=campaign,
        before={"status": before},
        after={"status": to},
        reason=reason,
    )


def campaign_schedule_sync(campaign: Campaign) -> None:
    """The campaign's own django-celery-beat task, for the triggers that run on a schedule."""
    if campaign.trigger not in SCHEDULED_TRIGGERS or campaign.status == Status.DRAFT:
        return
    if campaign.status == Status.ENDED:
        if campaign.schedule_id:
            PeriodicTask.objects.filter(pk=campaign.schedule_id).delete()
        return
    timing = {"crontab": None, "clocked": None, "one_off": False}
    if campaign.trigger == Trigger.ONCE:
        timing["clocked"] = ClockedSchedule.objects.create(clocked_time=campaign.starts_at)
        timing["one_off"] = True
    else:
        crontab = {"minute": "0", "hour": str(campaign.hour), "day_of_week": "*"}
        crontab["day_of_month"] = "*"
        if campaign.trigger == Trigger.WEEKLY:
            crontab["day_of_week"] = str(campaign.weekday % 7)  # cron: 0 is Sunday
        if campaign.trigger == Trigger.MONTHLY:
            crontab["day_of_month"] = str(campaign.month_day)
        timing["crontab"], _created = CrontabSchedule.objects.get_or_create(
            month_of_year="*", timezone=TIMEZONE, **crontab
        )
    task, _created = PeriodicTask.objects.update_or_create(
        name=f"marketing: campaign {campaign.pk}",
        defaults={
            "task": "apps.marketing.tasks.campaign_run_task",
            "args": json.dumps([campaign.pk]),
            "enabled": campaign.status in (Status.SCHEDULED, Status.RUNNING),
            **timing,
        },
    )
    if campaign.schedule_id != task.pk:
        Campaign.objects.filter(pk=campaign.pk).update(schedule=task)
        campaign.schedule = task


def _live(campaign: Campaign, now: datetime) -> bool:
    """Whether the (locked) campaign acts now: a scheduled one starts when its time comes,
    one past its end ends."""
    if campaign.ends_at and now >= campaign.ends_at and campaign.status != Status.ENDED:
        _status_set(campaign, Status.ENDED, actor=None, reason=_("its end date passed"))
    if campaign.status == Status.SCHEDULED and now >= campaign.starts_at:
        _status_set(campaign, Status.RUNNING, actor=None, reason=_("its start date came"))
    return campaign.status == Status.RUNNING


# Runs


def occurrence_key(campaign: Campaign, now: datetime) -> str:
    """The occurrence of a scheduled campaign at `now`: what a member gets once."""
    today = timezone.localdate(now)
    match campaign.trigger:
        case Trigger.ONCE:
            return "once"
        case Trigger.BIRTHDAY_DAY | Trigger.BIRTHDAY_MONTH:
            return f"birthday-{today.year}"
        case Trigger.DORMANT | Trigger.POINTS_EXPIRING:
            return f"{campaign.trigger}-{today:%Y-%m}"  # at most once a month
        case Trigger.SEGMENT_ENTERED:
            return "entered"  # the first day a member is found in the segment
        case Trigger.WEEKLY:
            return member_day_last(today, weekday=campaign.weekday).isoformat()
        case Trigger.MONTHLY:
            return member_day_last(today, month_day=campaign.month_day).isoformat()
    return today.isoformat()


def member_day_last(today: date, *, weekday: int | None = None, month_day: int | None = None):
    """The last member day on or before `today`: a run of the occurrence that a worker left
    unfinished and that comes back on a later day (the broker gives a dead worker's task
    back only after its visibility timeout) finishes that member day's occurrence instead of
    starting another, which would give its members everything again."""
    if weekday is not None:
        return today - timedelta(days=(today.isoweekday() - weekday) % 7)
    if today.day >= month_day:
        return today.replace(day=month_day)
    return (today.replace(day=1) - timedelta(days=1)).replace(day=month_day)


def campaign_run(*, campaign_id: int, now: datetime | None = None, batch: int = CHUNK) -> int:
    """Run a scheduled campaign's occurrence at `now` over its audience, chunk by chunk.
    Rerunnable: a member given something already is not given it again. Returns how many
    members were recorded (reached or held out) by this run."""
    now = now or timezone.now()
    campaign = Campaign.objects.get(pk=campaign_id)
    return _run(campaign_id, occurrence_key(campaign, now), now=now, batch=batch)


def campaign_run_for_member(
    *, campaign_id: int, member_id: int, key: str, now: datetime | None = None
) -> int:
    """Run an event's occurrence (`key`) of the campaign for the one member it is about."""
    return _run(campaign_id, key, now=now or timezone.now(), member_ids=[member_id])


def _run(campaign_id, key, *, now, batch=CHUNK, member_ids=None) -> int:
    after, recorded = 0, 0
    while True:
        done = _run_chunk(campaign_id, key, after=after, now=now, batch=batch, only=member_ids)
        if done is None:
            return recorded
        after, count = done
        recorded += count


@transaction.atomic
def _run_chunk(campaign_id, key, *, after, now, batch, only) -> tuple[int, int] | None:
    """One chunk of members past `after`: (the last member's id, how many were newly
    recorded), or None when there is nothing more to do."""
    campaign = _acting(campaign_id, now, event=only is not None)
    if campaign is None:
        return None
    members = campaign_audience(campaign, now=now)
    if only is not None:
        members_lock(only)  # one member's events of one campaign take turns (its limits)
        members = members.filter(pk__any=only)
    ids = member_ids_after(members, after=after, count=batch)
    if not ids:
        return None
    occurrence, _created = CampaignOccurrence.objects.get_or_create(campaign=campaign, key=key)
    recorded = rows_insert(
        CampaignMember,
        [
            {
                "campaign_id": campaign.pk,
                "occurrence_id": occurrence.pk,
                "member_id": member_id,
                "group": CampaignMember.Group.HOLDOUT
                if in_share(member_id, percent=campaign.holdout_percent, salt=campaign.salt)
                else CampaignMember.Group.REACHED,
                "created_at": now,
            }
            for member_id in ids
        ],
        ignore_conflicts=True,
    )
    actions = list(
        campaign.actions.select_related("coupon_template", "message_template").order_by("pk")
    )
    for action in actions:
        if not _action_give(campaign, action, occurrence, ids, actions, now):
            return None
    return ids[-1], len(recorded)


def _acting(campaign_id: int, now: datetime, *, event: bool) -> Campaign | None:
    """The campaign, if it acts now. A scheduled run locks its row for each chunk, so that
    two runs of it (a retried job) take turns. An event's run does not: paying orders would
    all wait on that one row; it locks the row only to move the campaign along its
    lifecycle (started, past its end)."""
    if event:
        campaign = Campaign.objects.get(pk=campaign_id)
        if campaign.status == Status.RUNNING and not (campaign.ends_at and now >= campaign.ends_at):
            return campaign
    campaign = _locked(campaign_id)
    return campaign if _live(campaign, now) else None


def _locked(campaign_id: int) -> Campaign:
    """The campaign's row, locked against other changes to it but not against the rows that
    point at it (FOR NO KEY UPDATE): an order's run records its grant meanwhile."""
    return Campaign.objects.select_for_update(no_key=True).get(pk=campaign_id)


def _action_give(campaign, action, occurrence, ids, actions, now) -> bool:
    """Give `action` to the chunk's reached members who may have it; False when the budget
    ran out (the campaign is then paused or ended)."""
    fresh = _due(action, occurrence, ids)
    cost = action_cost(action)
    wanted = len(fresh)
    if fresh and cost:
        fresh = fresh[: budget_take(campaign, action.kind, len(fresh) * cost, now) // cost]
    spent = len(fresh) < wanted
    if fresh and action.kind == CampaignAction.Kind.COUPON:
        granted = stock_take(
            action.coupon_template, count=len(fresh), store_id=None, now=now, bulk=True
        )
        if granted < len(fresh):  # a template out of stock gives what it has
            budget_give_back(campaign, action.kind, (len(fresh) - granted) * cost, now)
            fresh = fresh[:granted]
    if fresh:
        grants = rows_insert(
            CampaignGrant,
            [
                {
                    "campaign_id": campaign.pk,
                    "occurrence_id": occurrence.pk,
                    "action_id": action.pk,
                    "member_id": member_id,
                    "cost": cost,
                    "created_at": now,
                }
                for member_id in fresh
            ],
            returning=("member_id", "pk"),
        )
        _perform(campaign, action, occurrence, grants, actions, now)
    if spent:
        whole = campaign.budget_period == Campaign.Period.TOTAL
        _status_set(
            campaign,
            Status.ENDED if whole else Status.PAUSED,
            actor=None,
            reason=_("its %(budget)s is spent")
            % {"budget": Campaign._meta.get_field(BUDGETS[action.kind]).verbose_name},
        )
    return not spent


def _due(action: CampaignAction, occurrence: CampaignOccurrence, ids: list[int]) -> list[int]:
    """Of the members `ids` (ascending), in order, those the occurrence reached who have not
    had the action in it and are under its per-member limit. Each read is one range scan of
    an index over the chunk's ids, not their list; the grants are read by the action's
    index, never by the occurrence's: a new occurrence's rows are not in the planner's
    statistics yet, and a plan made for none of them read them all every chunk."""
    span = {"member_id__gte": ids[0], "member_id__lte": ids[-1]}
    reached = CampaignMember.objects.filter(
        occurrence=occurrence, group=CampaignMember.Group.REACHED, **span
    ).values_list("member_id", flat=True)
    had = Q(this_time__gt=0)
    if action.per_member_limit:
        had |= Q(times__gte=action.per_member_limit)
    skip = set(
        CampaignGrant.objects.filter(action=action, **span)
        .values("member_id")
        .annotate(times=Count("pk"), this_time=Count("pk", filter=Q(occurrence=occurrence)))
        .filter(had)
        .values_list("member_id", flat=True)
    )
    chunk = set(ids)
    return sorted(m for m in reached if m in chunk and m not in skip)


def _at_limit(grants: QuerySet, action: CampaignAction) -> QuerySet:
    """The ids of the members of `grants` (of the action) who had it as often as it may be
    given."""
    return (
        grants.values("member_id")
        .annotate(times=Count("pk"))
        .filter(times__gte=action.per_member_limit)
        .values_list("member_id", flat=True)
    )


def _perform(campaign, action, occurrence, grants, actions, now) -> None:
    """Do `action` for the members of `grants` ((member id, grant id) each), all at once."""
    member_ids = [member_id for member_id, _grant in grants]
    Kind = CampaignAction.Kind
    together = {
        "member_ids": member_ids,
        "amount": action.amount,
        "cause_id": occurrence.pk,
        "keys": [f"campaign-grant-{grant}" for _member, grant in grants],
        "description": campaign.name,
        "now": now,
    }
    match action.kind:
        case Kind.COUPON:
            coupons_issue_together(
                action.coupon_template,
                member_ids,
                now=now,
                cause_kind=Coupon.CauseKind.CAMPAIGN,
                cause_id=occurrence.pk,
            )
        case Kind.POINTS:
            points_earn_together(**together, cause_kind=Entry.CauseKind.CAMPAIGN)
        case Kind.GROWTH:
            growth_earn_together(
                **together, kind=GrowthEntry.Kind.ACTION, cause_kind=GrowthEntry.CauseKind.CAMPAIGN
            )
        case Kind.MESSAGE:
            coupons = [a.coupon_template.name for a in actions if a.kind == Kind.COUPON]
            messages_queue(
                template=action.message_template,
                member_ids=member_ids,
                cause_kind="campaign",
                cause_id=occurrence.pk,
                values={"coupon": "、".join(coupons)} if coupons else None,
            )
        case Kind.TAG_ADD:
            MemberTag.objects.bulk_create(
                [MemberTag(member_id=member_id, tag=action.tag) for member_id in member_ids],
                ignore_conflicts=True,
            )
        case Kind.TAG_REMOVE:
            MemberTag.objects.filter(tag=action.tag, member_id__any=member_ids).delete()


# Budgets


def period_start(period: str, now: datetime) -> datetime | None:
    """When the budget's current period began (None: the whole campaign)."""
    today = timezone.localdate(now)
    start = {
        Campaign.Period.DAY: today,
        Campaign.Period.WEEK: today - timedelta(days=today.weekday()),
        Campaign.Period.MONTH: today.replace(day=1),
    }.get(period)
    if start is None:
        return None
    return timezone.make_aware(datetime.combine(start, datetime.min.time()))


def _period(campaign: Campaign, now: datetime) -> tuple[str, datetime | None]:
    """The budget's period at `now`: its name on the spend counter, and when it began."""
    start = period_start(campaign.budget_period, now)
    return ("total" if start is None else timezone.localdate(start).isoformat()), start


def _spent_in_grants(campaign: Campaign, kind: str, start: datetime | None) -> int:
    spent = CampaignGrant.objects.filter(campaign=campaign, action__kind=kind)
    if start is not None:
        spent = spent.filter(created_at__gte=start)
    return spent.aggregate(total=Sum("cost"))["total"] or 0


def budget_left(campaign: Campaign, kind: str, now: datetime) -> int | None:
    """What is left of the budget `kind` of action spends, this period; None: no budget."""
    budget = getattr(campaign, BUDGETS[kind]) if kind in BUDGETS else None
    if budget is None:
        return None
    period, start = _period(campaign, now)
    spent = (
        CampaignSpend.objects.filter(campaign=campaign, kind=kind, period=period)
        .values_list("spent", flat=True)
        .first()
    )
    if spent is None:  # nothing spent through the counter yet this period
        spent = _spent_in_grants(campaign, kind, start)
    return max(budget - spent, 0)


def budget_take(campaign: Campaign, kind: str, amount: int, now: datetime) -> int:
    """Take up to `amount` of the budget `kind` of action spends, this period: how much was
    taken (all of it when there is no budget). One conditional UPDATE of the period's spend
    counter, never past the budget; the row stays locked until the caller commits, so the
    caller takes it after its other locks (a campaign without a budget has no counter)."""
    budget = getattr(campaign, BUDGETS[kind]) if kind in BUDGETS else None
    if budget is None or not amount:
        return amount
    period, start = _period(campaign, now)
    spend = CampaignSpend.objects.filter(campaign=campaign, kind=kind, period=period)
    if spend.filter(spent__lte=budget - amount).update(spent=F("spent") + amount):
        return amount
    if not spend.exists():  # the period's first spending: its counter, from what grants spent
        CampaignSpend.objects.bulk_create(
            [
                CampaignSpend(
                    campaign=campaign,
                    kind=kind,
                    period=period,
                    spent=_spent_in_grants(campaign, kind, start),
                )
            ],
            ignore_conflicts=True,
        )
        return budget_take(campaign, kind, amount, now)
    spent = spend.select_for_update().values_list("spent", flat=True).get()
    taken = max(min(amount, budget - spent), 0)
    if taken:
        spend.update(spent=F("spent") + taken)
    return taken


def budget_give_back(campaign: Campaign, kind: str, amount: int, now: datetime) -> None:
    """Return what `budget_take` took and was not given (a coupon out of stock)."""
    if amount and kind in BUDGETS and getattr(campaign, BUDGETS[kind]) is not None:
        period, _start = _period(campaign, now)
        CampaignSpend.objects.filter(campaign=campaign, kind=kind, period=period).update(
            spent=F("spent") - amount
        )


# The dry run


def campaign_dry_run(campaign: Campaign, *, now: datetime | None = None) -> dict:
    """How many members the campaign would reach if it ran now (its audience today, less
    the holdout and, for a scheduled one, those this occurrence reached already) and what
    that would cost of each budget, capped by what is left of it."""
    now = now or timezone.now()
    members = campaign_audience(campaign, now=now)
    audience = members.count()
    holdout = members_in_share(
        members, percent=campaign.holdout_percent, salt=campaign.salt
    ).count()
    would = members_outside_share(members, percent=campaign.holdout_percent, salt=campaign.salt)
    done = 0
    if campaign.trigger in SCHEDULED_TRIGGERS:
        reached_before = members.filter(
            pk__in=CampaignMember.objects.filter(
                campaign=campaign,
                occurrence__key=occurrence_key(campaign, now),
                group=CampaignMember.Group.REACHED,
            ).values("member_id")
        )
        done = reached_before.count()
        would = would.exclude(pk__in=reached_before.values("pk"))
    reached = max(audience - holdout - done, 0)
    costs = {kind: 0 for kind in BUDGETS}
    for action in campaign.actions.all():
        if action.kind not in BUDGETS:
            continue
        takers = reached
        if action.per_member_limit:  # those who had it as often as it may be given get none
            given = CampaignGrant.objects.filter(action=action, member_id__in=would.values("pk"))
            takers -= _at_limit(given, action).count()
        costs[action.kind] += takers * action_cost(action)
    for kind in costs:
        left = budget_left(campaign, kind, now)
        if left is not None:
            costs[kind] = min(costs[kind], left)
    return {
        "audience": audience,
        "holdout": holdout,
        "reached": reached,
        "coupons": costs[CampaignAction.Kind.COUPON],
        "points": costs[CampaignAction.Kind.POINTS],
        "messages": costs[CampaignAction.Kind.MESSAGE],
    }

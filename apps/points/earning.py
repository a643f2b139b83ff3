"""Earning points on orders and events, by the rules HQ keeps in the admin."""

from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.db.models import F, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from apps.core.reference import reference_get
from apps.core.text import comma_separated
from apps.members.models import Member
from apps.members.segments import SegmentCriteria, segment_members
from apps.points.models import EarningRule, Entry, RuleUsage
from apps.points.rules import OrderLine, PointsQuote, RuleFacts, order_points, usage_period
from apps.points.selectors import entry_by_cause, entry_once_of_cause
from apps.points.services import points_earn, points_reverse
from apps.tiers.models import Tier
from apps.tiers.selectors import member_tier


def active_rules() -> list[EarningRule]:
    """Every active rule with its targets (cached reference data)."""
    return reference_get(
        "earning_rules",
        lambda: list(
            EarningRule.objects.filter(active=True)
            .prefetch_related("stores", "segments", "tiers")
            .order_by("pk")
        ),
    )


def applicable_rules(
    *,
    member: Member,
    tier: Tier | None,
    store=None,
    when: datetime,
    kinds: tuple[str, ...],
    within_limits: bool = True,
) -> list[EarningRule]:
    """Active rules of these kinds that hold now, here, for this member (and, unless told
    otherwise, within their limits)."""
    chosen = []
    for rule in active_rules():
        if rule.kind not in kinds or not (
            (rule.starts_at is None or rule.starts_at <= when)
            and (rule.ends_at is None or rule.ends_at > when)
        ):
            continue
        stores = list(rule.stores.all())
        if stores and (store is None or store not in stores):
            continue
        tiers = list(rule.tiers.all())
        if tiers and tier not in tiers:
            continue
        segments = list(rule.segments.all())
        if segments and not any(
            segment_members(SegmentCriteria.of(segment)).filter(pk=member.pk).exists()
            for segment in segments
        ):
            continue
        chosen.append(rule)
    return _within_limits(member, chosen, when) if within_limits else chosen


def _within_limits(member: Member, rules: list[EarningRule], when: datetime) -> list:
    limited = [rule.pk for rule in rules if rule.limit_count]
    if not limited:
        return rules
    day = timezone.localdate(when)
    usage = {
        (u.rule_id, u.period): u.count
        for u in RuleUsage.objects.filter(member=member, rule__in=limited)
    }
    return [
        rule
        for rule in rules
        if not rule.limit_count
        or usage.get((rule.pk, usage_period(rule.limit_period, day)), 0) < rule.limit_count
    ]


def _facts(rule: EarningRule) -> RuleFacts:
    return RuleFacts(
        id=rule.pk,
        name=rule.name,
        kind=rule.kind,
        rate=rule.points_per_yuan,
        multiplier=rule.multiplier,
        skus=comma_separated(rule.skus),
        categories=comma_separated(rule.categories),
        weekdays=frozenset(int(day) for day in comma_separated(rule.weekdays)),
        per_order_cap=rule.per_order_cap,
    )


_CURRENT = object()


def order_points_quote(
    *,
    member: Member,
    store,
    lines: list[OrderLine],
    when: datetime | None = None,
    tier: Tier | None = _CURRENT,
) -> PointsQuote:
    """What an order would earn, rule by rule: the quote shows it before payment.

    The member's tier multiplier (HQ sets it on the tier) comes last, over every line.
    `tier` is the tier the order earns at (default: the member's tier now)."""
    when = when or timezone.now()
    tier = member_tier(member) if tier is _CURRENT else tier
    candidates = applicable_rules(
        member=member,
        tier=tier,
        store=store,
        when=when,
        kinds=(EarningRule.Kind.RATE, EarningRule.Kind.MULTIPLIER),
        within_limits=False,
    )
    rules = [_facts(rule) for rule in _within_limits(member, candidates, when)]
    if tier is not None and tier.points_multiplier != 1:
        rules.append(
            RuleFacts(
                id=None,
                name=f"{tier.name}{tier.points_multiplier.normalize():f}倍积分",
                kind="multiplier",
                multiplier=tier.points_multiplier,
            )
        )
    quote = order_points(
        lines,
        rules,
        weekday=timezone.localdate(when).isoweekday(),
        order_cap=settings.POINTS_ORDER_CAP or None,
    )
    quote.limited = any(rule.limit_count for rule in candidates)
    return quote


@transaction.atomic(savepoint=False)  # no caller carries on after its errors
def points_award_order(
    *,
    member: Member,
    store,
    lines: list[OrderLine],
    order_id: int,
    description: str,
    when: datetime | None = None,
    pending: bool = True,
    tier: Tier | None = _CURRENT,
    quote: PointsQuote | None = None,
    placed_now: bool = False,
) -> tuple[Entry | None, PointsQuote]:
    """Give paid order `order_id` its points (pending for the return window) and count the
    rules used. An order earns once: again, it returns the first entry. `placed_now`: the
    order was written in this transaction, so no entry can name it yet, and none is looked
    for (entry_once_per_order still refuses a second).

    `quote` is the one shown at checkout, in this transaction; it stands unless a rule with
    a usage limit was in it, which is then evaluated again under the member's lock so that
    two orders at once cannot both use the last allowed time."""
    when = when or timezone.now()
    if quote is None:
        quote = order_points_quote(member=member, store=store, lines=lines, when=when, tier=tier)
    if quote.limited:
        _serialise(member)
        quote = order_points_quote(member=member, store=store, lines=lines, when=when, tier=tier)
    if not placed_now and (
        entry := entry_by_cause(Entry.CauseKind.ORDER, order_id, Entry.Kind.EARN)
    ):
        return entry, quote
    if quote.total <= 0:
        return None, quote
    entry = points_earn(
        member=member,
        amount=quote.total,
        cause_kind=Entry.CauseKind.ORDER,
        cause_id=order_id,
        description=description,
        pending=pending,
        now=when,
        savepoint=False,  # as this function's own transaction
    )
    if quote.limited:
        _count_use(member, quote.rule_ids, when)
    return entry, quote


@transaction.atomic
def points_award_event(
    *, member: Member, event: str, cause_id: int, when: datetime | None = None
) -> list[Entry]:
    """Bonus points for joining, a first purchase or completing the profile: a welcome, once
    per person, so none for a member who joined again with a deleted account's phone. The
    entries' cause is the event (its kinds are the events') and `cause_id` what it was
    about: the member, or the order of a first purchase; each rule gives its bonus for it
    once. Again, it returns the entries written the first time.

    Given by the worker, after the event: from the jobs' part of issuance (0), never from
    the member's, which the tills' sales lock. A worker runs at a low CPU priority
    (HUIJI_WORKER_PRIORITY) and may wait for a core while it holds what it locked; on the
    member's part, every till selling to a member of that part waited with it."""
    if member.returning:
        return []
    when = when or timezone.now()
    _serialise(member)
    entries = []
    rules = applicable_rules(
        member=member, tier=member_tier(member), when=when, kinds=(EarningRule.Kind.BONUS,)
    )
    for rule in rules:
        if rule.event != event:
            continue
        given = entry_once_of_cause(event, cause_id, member_id=member.pk, rule_id=rule.pk)
        if given is not None:  # the member's row is locked: no other award is under way
            entries.append(given)
            continue
        entries.append(
            points_earn(
                member=member,
                amount=rule.points,
                cause_kind=event,
                cause_id=cause_id,
                rule=rule,
                description=rule.name,
                pending=False,
                now=when,
                part=0,
            )
        )
        _count_use(member, [rule.pk], when)
    return entries


# The first-purchase bonus names the order that earned it as its cause, so that the refund of
# that order in full can find it and take it back; the member then earns it on their next
# first purchase. A partial refund leaves it: the member still made the purchase.


@transaction.atomic
def first_purchase_bonus_award(
    *, member: Member, order_id: int, when: datetime | None = None
) -> list[Entry]:
    """The bonus for a member's first purchase (order `order_id`). A member holds one at a
    time: two first orders paid at once earn one, and the order whose bonus was taken back
    by its refund leaves room for the next."""
    _serialise(member)
    if _first_purchase_bonuses(member).exists():
        return []
    return points_award_event(
        member=member,
        event=EarningRule.Event.FIRST_PURCHASE,
        cause_id=order_id,
        when=when,
    )


def first_purchase_bonus_reverse(
    *, member: Member, order_id: int, refund_id: int, description: str
) -> int:
    """Take back the first-purchase bonus order `order_id` earned, as refund `refund_id`
    refunds it in full. Returns the points that could not be, because the member had spent
    them."""
    spent = 0
    earned = _first_purchase_bonuses(member).filter(cause_id=order_id)
    for entry in earned.order_by("pk"):
        _back, short = points_reverse(
            entry=entry,
            cause_kind=Entry.CauseKind.REFUND,
            cause_id=refund_id,
            description=description,
        )
        spent += short
    return spent


def _first_purchase_bonuses(member: Member):
    """The member's first-purchase bonuses not yet taken back in full."""
    return (
        Entry.objects.filter(
            member=member, kind=Entry.Kind.EARN, cause_kind=Entry.CauseKind.FIRST_PURCHASE
        )
        .annotate(back=Coalesce(Sum("reversals__amount"), 0))
        .filter(amount__gt=F("back"))
    )


def _serialise(member: Member) -> None:
    """One award for a member at a time, so that a rule's limit holds: the member row is
    locked (never the accounts, which the ledger locks after, in its own order)."""
    Member.objects.select_for_update().filter(pk=member.pk).first()


def _count_use(member: Member, rule_ids: list[int], when: datetime) -> None:
    day = timezone.localdate(when)
    for rule in EarningRule.objects.filter(pk__in=rule_ids, limit_count__isnull=False):
        period = usage_period(rule.limit_period, day)
        usage, created = RuleUsage.objects.get_or_create(
            rule=rule, member=member, period=period, defaults={"count": 1}
        )
        if not created:
            RuleUsage.objects.filter(pk=usage.pk).update(count=F("count") + 1)

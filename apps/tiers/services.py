from collections import defaultdict
from datetime import date, datetime, timedelta

from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.db import connections, transaction
from django.db.models import OuterRef, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from apps.core.audit import audit_record
from apps.core.bulk import rows_insert
from apps.core.events import event_emit, events_emit
from apps.core.rows import column, columns, database_for_write, instance, row_insert, table
from apps.members.models import Member
from apps.tiers.models import GrowthEntry, MemberTier, Tier, TierChange
from apps.tiers.rules import TierFacts, qualified_tier, review
from apps.tiers.selectors import (
    growth_in_window,
    growths_in_window,
    tiers_in_order,
    window_start,
)


def _facts(tiers: list[Tier]) -> list[TierFacts]:
    return [TierFacts(id=t.pk, rank=t.rank, threshold=t.growth_threshold) for t in tiers]


def first_review(after) -> date:
    """A tier is first reviewed a whole window after it was reached."""
    return timezone.localdate(after) + relativedelta(months=settings.TIER_GROWTH_WINDOW_MONTHS)


def _locked_state(member: Member, tiers: list[Tier]) -> MemberTier:
    """The member's tier row, locked: tier changes of one member happen one at a time. Only
    the member's row: its tier, which all its members share, comes from `tiers`."""
    using = database_for_write(MemberTier)
    database = connections[using]
    lock = " FOR UPDATE" if database.features.has_select_for_update else ""
    with database.cursor() as cursor:
        cursor.execute(
            f"SELECT {columns(MemberTier, 's')} FROM {table(MemberTier)} s "
            f"WHERE s.{column(MemberTier, 'member')} = %s{lock}",
            [member.pk],
        )
        row = cursor.fetchone()
    if row is not None:
        state = instance(MemberTier, row, using)
    else:  # the member's first tier: made once, whoever comes first
        state = MemberTier(member=member, tier=tiers[0], review_on=first_review(timezone.now()))
        if not row_insert(state, unless_taken="member"):
            return _locked_state(member, tiers)  # another made it; it has committed by now
    # a tier HQ made moments ago may not be in another process's cached list yet
    cached = next((tier for tier in tiers if tier.pk == state.tier_id), None)
    state.tier = cached or Tier.objects.get(pk=state.tier_id)
    return state


@transaction.atomic(savepoint=False)  # no caller carries on after its errors
def growth_earn(
    *,
    member: Member,
    amount: int,
    kind: str,
    cause_kind: str,
    cause_id: int | None = None,
    key: str | None = None,
    description: str,
    now: datetime | None = None,
) -> GrowthEntry:
    """Add growth value; a member who now qualifies for a higher tier moves up at once. An
    entry whose cause gives growth once (an order, a refund, joining …) is written once,
    others once per `key`: again, the first entry is returned."""
    now = now or timezone.now()
    tiers = tiers_in_order()
    # With no tiers defined yet, growth is still recorded: it counts once HQ defines them.
    state = _locked_state(member, tiers) if tiers else None
    entry = GrowthEntry(
        member=member,
        kind=kind,
        amount=amount,
        key=key,
        cause_kind=cause_kind,
        cause_id=cause_id,
        description=description,
        created_at=now,
    )
    # the key, or the cause, was used: its first entry stands
    if not row_insert(entry, unless_taken="key" if key is not None else "growth_once_per_cause"):
        if key is not None:
            return GrowthEntry.objects.get(key=key)
        return GrowthEntry.objects.get(cause_kind=cause_kind, cause_id=cause_id)
    if amount > 0 and state is not None and state.tier.rank < tiers[-1].rank:  # not at the top
        target = qualified_tier(growth_in_window(member, now=now), _facts(tiers))
        if target.rank > state.tier.rank:
            _change(
                state,
                next(t for t in tiers if t.pk == target.id),
                TierChange.Reason.UPGRADE,
                now=now,
            )
    return entry


def growth_earn_together(
    *,
    member_ids: list[int],
    amount: int,
    kind: str,
    cause_kind: str,
    cause_id: int,
    keys: list[str],
    description: str,
    now: datetime,
) -> None:
    """Add `amount` of growth value to each member at once, as a job gives it (a campaign's
    chunk): one entry each under its key (`keys`, in the members' order), a key used before
    failing the whole write; the members who now qualify for a higher tier move up, as
    `growth_earn` moves one. Their tier rows are locked in member order first."""
    if not member_ids:
        return
    tiers = tiers_in_order()
    states = {}
    if tiers:
        MemberTier.objects.bulk_create(  # the members' first tiers, whoever makes them
            [
                MemberTier(member_id=m, tier=tiers[0], review_on=first_review(now))
                for m in member_ids
            ],
            ignore_conflicts=True,
        )
        states = {
            state.pk: state
            for state in MemberTier.objects.select_for_update()
            .filter(pk__any=member_ids)
            .order_by("pk")
        }
    rows_insert(
        GrowthEntry,
        [
            {
                "member_id": member_id,
                "kind": kind,
                "amount": amount,
                "key": key,
                "cause_kind": cause_kind,
                "cause_id": cause_id,
                "description": description,
                "created_at": now,
            }
            for member_id, key in zip(member_ids, keys, strict=True)
        ],
    )
    if amount <= 0 or not states:
        return
    facts, by_id = _facts(tiers), {tier.pk: tier for tier in tiers}
    for member_id, total in growths_in_window(member_ids, now=now).items():
        state = states[member_id]
        state.tier = by_id.get(state.tier_id) or Tier.objects.get(pk=state.tier_id)
        target = qualified_tier(total, facts)
        if target.rank > state.tier.rank:
            _change(state, by_id[target.id], TierChange.Reason.UPGRADE, now=now)


@transaction.atomic
def growth_reverse(
    *, order_id: int, refund_id: int, description: str, amount: int | None = None
) -> GrowthEntry | None:
    """Take back growth value order `order_id` earned (refund `refund_id`: `amount` of it,
    or all); the tier stays until its review."""
    original = GrowthEntry.objects.filter(
        cause_kind=GrowthEntry.CauseKind.ORDER, cause_id=order_id
    ).first()
    if original is None or original.amount <= 0:
        return None
    amount = original.amount if amount is None else min(amount, original.amount)
    if amount <= 0:
        return None
    return growth_earn(
        member=original.member,
        amount=-amount,
        kind=GrowthEntry.Kind.REFUND,
        cause_kind=GrowthEntry.CauseKind.REFUND,
        cause_id=refund_id,
        description=description,
    )


@transaction.atomic
def tier_set_manual(*, member: Member, tier: Tier, until, actor, reason: str) -> MemberTier:
    """HQ gives a member a tier that is a floor until `until`: reviews never go below it."""
    state = _locked_state(member, tiers_in_order())
    MemberTier.objects.filter(pk=state.pk).update(floor=tier, floor_until=until)
    if tier.rank > state.tier.rank:
        _change(state, tier, TierChange.Reason.MANUAL, actor=actor, note=reason)
    audit_record(
        actor=actor,
        action="tier.manual",
        target=member,
        after={"tier": tier.code, "until": until},
        reason=reason,
    )
    return MemberTier.objects.get(pk=state.pk)


def _change(
    state: MemberTier, to: Tier, reason: str, *, now=None, actor=None, note: str = ""
) -> None:
    now = now or timezone.now()
    TierChange.objects.create(
        member_id=state.pk,
        from_tier=state.tier,
        to_tier=to,
        reason=reason,
        note=note,
        created_at=now,
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    fields = {"tier": to, "since": now, "grace_until": None}
    if to.rank > state.tier.rank:
        fields["review_on"] = first_review(now)
    MemberTier.objects.filter(pk=state.pk).update(**fields)
    event_emit(
        name="tier_changed",
        payload={"member": state.pk, "from": state.tier.code, "to": to.code, "reason": reason},
    )


def tiers_review_due(*, today: date | None = None, batch: int = 2000) -> dict[str, int]:
    """The nightly review: members whose review date has come, a batch per transaction, a
    handful of queries per batch whatever its size. A reviewed member's next review moves
    on, so running it again the same day does nothing twice."""
    today = today or timezone.localdate()
    counts = {"kept": 0, "warned": 0, "downgraded": 0}
    tiers = tiers_in_order()
    if not tiers:
        return counts
    since = window_start(today)
    growth = (
        GrowthEntry.objects.filter(member=OuterRef("member_id"), created_at__gt=since)
        .order_by()
        .values("member")
        .annotate(total=Sum("amount"))
        .values("total")
    )
    after = 0
    while True:
        with transaction.atomic():
            states = list(  # past the last batch's members, so each batch costs the same
                MemberTier.objects.select_for_update(skip_locked=True, of=("self",))
                .filter(review_on__lte=today, member_id__gt=after)
                .order_by("member_id")
                .annotate(growth=Coalesce(Subquery(growth), 0))
                .values_list(
                    "member_id",
                    "tier_id",
                    "floor_id",
                    "floor_until",
                    "grace_until",
                    "growth",
                    named=True,
                )[:batch]
            )
            if not states:
                return counts
            for outcome, number in _review_batch(states, tiers, today).items():
                counts[outcome] += number
        after = states[-1].member_id


def _review_batch(states: list, tiers: list[Tier], today: date) -> dict[str, int]:
    """Decide each state (with its growth in the window) in Python, then write by outcome: a
    kept member, a warned member and a member dropped to a given tier all get the same
    values, so each outcome is one UPDATE."""
    facts, by_rank = _facts(tiers), {tier.rank: tier for tier in tiers}
    by_id = {tier.pk: tier for tier in tiers}
    next_review = today + relativedelta(
        months=1 if settings.TIER_REVIEW == "monthly" else settings.TIER_GROWTH_WINDOW_MONTHS
    )
    grace_until = today + timedelta(days=settings.TIER_GRACE_DAYS)
    keep, warn, dropped_to = [], [], defaultdict(list)
    for state in states:
        floor_holds = state.floor_id and state.floor_until and state.floor_until >= today
        tier = by_id[state.tier_id]
        decision = review(
            current=tier.rank,
            qualified=qualified_tier(state.growth, facts).rank,
            floor=by_id[state.floor_id].rank if floor_holds else None,
            in_grace=bool(state.grace_until and state.grace_until > today),
            grace_ended=bool(state.grace_until and state.grace_until <= today),
            grace_days=settings.TIER_GRACE_DAYS,
            policy=settings.TIER_DOWNGRADE,
        )
        if decision.start_grace:
            warn.append(state)
        elif decision.rank < tier.rank:
            dropped_to[by_rank[decision.rank]].append(state)
        else:
            keep.append(state)

    def ids(some):
        return [state.member_id for state in some]

    MemberTier.objects.filter(pk__any=ids(keep)).update(grace_until=None, review_on=next_review)
    MemberTier.objects.filter(pk__any=ids(warn)).update(
        grace_until=grace_until, review_on=grace_until
    )
    now = timezone.now()
    for tier, dropped in dropped_to.items():
        MemberTier.objects.filter(pk__any=ids(dropped)).update(
            tier=tier, since=now, grace_until=None, review_on=next_review
        )
    drops = [(state, tier) for tier, dropped in dropped_to.items() for state in dropped]
    rows_insert(
        TierChange,
        [
            {
                "member_id": state.member_id,
                "from_tier_id": state.tier_id,
                "to_tier_id": tier.pk,
                "reason": TierChange.Reason.DOWNGRADE,
                "created_at": now,
            }
            for state, tier in drops
        ],
    )
    events_emit(
        name="tier_changed",
        payloads=[
            {
                "member": state.member_id,
                "from": by_id[state.tier_id].code,
                "to": tier.code,
                "reason": TierChange.Reason.DOWNGRADE,
            }
            for state, tier in drops
        ],
    )
    until = grace_until.isoformat()
    events_emit(
        name="tier_downgrade_warning",
        payloads=[
            {
                "member": state.member_id,
                "tier": by_id[state.tier_id].code,
                "until": until,
                "growth_needed": max(by_id[state.tier_id].growth_threshold - state.growth, 0),
            }
            for state in warn
        ],
    )
    return {"kept": len(keep), "warned": len(warn), "downgraded": len(drops)}

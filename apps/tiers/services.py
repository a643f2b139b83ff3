from datetime import datetime

from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from apps.core.audit import audit_record
from apps.core.events import event_emit
from apps.members.models import Member
from apps.tiers.models import GrowthEntry, MemberTier, Tier, TierChange
from apps.tiers.rules import TierFacts, qualified_tier


def tiers_in_order() -> list[Tier]:
    return list(Tier.objects.order_by("rank"))


def _facts(tiers: list[Tier]) -> list[TierFacts]:
    return [TierFacts(id=t.pk, rank=t.rank, threshold=t.growth_threshold) for t in tiers]


def _locked_state(member: Member, first_tier: Tier) -> MemberTier:
    """The member's tier row, locked: tier changes of one member happen one at a time."""
    MemberTier.objects.get_or_create(member=member, defaults={"tier": first_tier})
    return MemberTier.objects.select_for_update().select_related("tier").get(member=member)


def growth_in_window(member: Member, *, now: datetime | None = None) -> int:
    since = (now or timezone.now()) - relativedelta(months=settings.TIER_GROWTH_WINDOW_MONTHS)
    total = GrowthEntry.objects.filter(member=member, created_at__gt=since).aggregate(
        total=Sum("amount")
    )["total"]
    return total or 0


@transaction.atomic
def growth_earn(
    *,
    member: Member,
    amount: int,
    key: str,
    kind: str,
    cause: str,
    description: str,
    now: datetime | None = None,
) -> GrowthEntry:
    """Add growth value; a member who now qualifies for a higher tier moves up at once."""
    now = now or timezone.now()
    tiers = tiers_in_order()
    # With no tiers defined yet, growth is still recorded: it counts once HQ defines them.
    state = _locked_state(member, tiers[0]) if tiers else None
    if (entry := GrowthEntry.objects.filter(key=key).first()) is not None:
        return entry
    entry = GrowthEntry.objects.create(
        member=member,
        kind=kind,
        amount=amount,
        key=key,
        cause=cause,
        description=description,
        created_at=now,
    )
    if amount > 0 and state is not None:
        target = qualified_tier(growth_in_window(member, now=now), _facts(tiers))
        if target.rank > state.tier.rank:
            _change(
                state,
                next(t for t in tiers if t.pk == target.id),
                TierChange.Reason.UPGRADE,
                now=now,
            )
    return entry


@transaction.atomic
def growth_reverse(
    *, original_key: str, key: str, description: str, share: float = 1.0
) -> GrowthEntry | None:
    """Take back growth value (a refund): the tier stays until its review."""
    original = GrowthEntry.objects.filter(key=original_key).first()
    if original is None or original.amount <= 0:
        return None
    amount = int(original.amount * share)
    if amount <= 0:
        return None
    return growth_earn(
        member=original.member,
        amount=-amount,
        key=key,
        kind=GrowthEntry.Kind.REFUND,
        cause=original.cause,
        description=description,
    )


@transaction.atomic
def tier_set_manual(*, member: Member, tier: Tier, until, actor, reason: str) -> MemberTier:
    """HQ gives a member a tier that is a floor until `until`: reviews never go below it."""
    state = _locked_state(member, tiers_in_order()[0])
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
    MemberTier.objects.filter(pk=state.pk).update(tier=to, since=now)
    event_emit(
        name="tier_changed",
        payload={"member": state.pk, "from": state.tier.code, "to": to.code, "reason": reason},
    )

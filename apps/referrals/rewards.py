"""老带新: referrals and their rewards.

A friend who joins with a member's referral code is recorded as a referral (from the
`member_joined` event, with the address and device they signed up from). Nothing is given
at sign-up: their first paid order (any channel) starts its return window — the window of
the commissions' freeze and the points' pending (COMMISSION_FROZEN_DAYS) — and once it has
passed, a job gives both sides what the referral's rule says, through the points ledger,
the growth ledger and the coupon issue. A first order refunded (what it still has paid
below the rule's minimum, or nothing) earns nothing, nor does any later order.

Never rewarded: a phone referred before or belonging to a deleted account (keyed hash,
`Member.returning`), a self-referral (a merge that makes a member their own referrer).
Held back until HQ clears them in the console (audited): referrals flagged because many
friends signed up from one address or device within the rule's hours, or because the
friend has not bought within the rule's days; and every referral of a blacklisted referrer.
The referrer's limits: per day (more wait for the next day) and in all (past it only the
friend is rewarded).

The job is batched and may run twice at once or again after a crash: each batch locks its
referrals (SKIP LOCKED) and their referrers in key order, and each reward is a row unique
per referral and side that its points, growth and coupon name as their cause, each of those
unique by it too."""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Exists, OuterRef
from django.utils import timezone

from apps.core.audit import audit_record
from apps.core.rows import row_insert
from apps.coupons.issuing import coupon_issue_for_event
from apps.coupons.models import Coupon
from apps.members.models import Member
from apps.members.returning import phone_hash
from apps.orders.models import Order, RefundRequest
from apps.points.models import Entry
from apps.points.services import points_earn
from apps.referrals.models import (
    Referral,
    ReferralFlag,
    ReferralReward,
    ReferralRule,
    ReferrerBlock,
)
from apps.tiers.models import GrowthEntry
from apps.tiers.services import growth_earn

Status = Referral.Status
Reason = ReferralFlag.Reason
Side = ReferralReward.Side


def return_window() -> timedelta:
    return timedelta(days=settings.COMMISSION_FROZEN_DAYS)


def _first_paid_order(member_id: int) -> Order | None:
    return (
        Order.objects.filter(member_id=member_id, paid_at__isnull=False)
        .order_by("paid_at", "pk")
        .only("pk", "paid_at")
        .first()
    )


@transaction.atomic
def referral_record(
    *,
    referee_id: int,
    referrer_id: int,
    requester: str = "",
    device: str = "",
    now: datetime | None = None,
) -> Referral | None:
    """A friend joined with `referrer_id`'s code: recorded once (the friend is unique),
    void at once if the phone was referred or deleted before, flagged when their address
    or device brought many friends lately. None for a self-referral or a friend gone."""
    now = now or timezone.now()
    referee = Member.objects.filter(pk=referee_id).first()
    if referee is None or referee_id == referrer_id or not referee.phone:
        return None
    if (existing := Referral.objects.filter(referee_id=referee_id).first()) is not None:
        return existing
    digest = phone_hash(referee.phone)
    seen = referee.returning or Referral.objects.filter(phone_hash=digest).exists()
    referral = Referral(
        referee_id=referee_id,
        referrer_id=referrer_id,
        rule=ReferralRule.objects.filter(active=True).first(),
        phone_hash=digest,
        requester=requester[:45],
        device=device[:64],
        joined_at=referee.joined_at,
        status=Status.VOID if seen else Status.WAITING,
        void_reason=Referral.Void.RETURNING if seen else "",
    )
    if not row_insert(referral, unless_taken="referee"):
        return Referral.objects.get(referee_id=referee_id)
    if not seen:
        # its event may come after the friend's first order's
        if (order := _first_paid_order(referee_id)) is not None:
            _first_order_set(referral.pk, order)
        _flag_bursts(referral, now)
    return referral


def _flag_bursts(referral: Referral, now: datetime) -> None:
    """Many friends from one address or device within the rule's hours: all of them not
    rewarded yet are flagged. A device the referrer signed up with themselves is, too."""
    rule = referral.rule
    if rule is None:
        return
    since = referral.joined_at - timedelta(hours=rule.burst_hours)
    flags = []
    for reason, field in ((Reason.SAME_ADDRESS, "requester"), (Reason.SAME_DEVICE, "device")):
        value = getattr(referral, field)
        if not value:
            continue
        burst = list(
            Referral.objects.filter(
                **{field: value}, joined_at__gte=since, joined_at__lte=referral.joined_at
            )
            .exclude(status__in=[Status.REWARDED, Status.VOID])
            .values_list("pk", flat=True)
        )
        if len(burst) >= rule.burst_count:
            detail = f"{value}: {len(burst)} / {rule.burst_hours}h"
            flags += [ReferralFlag(referral_id=pk, reason=reason, detail=detail) for pk in burst]
    if (
        referral.device
        and Referral.objects.filter(
            referee_id=referral.referrer_id, device=referral.device
        ).exists()
    ):
        flags.append(
            ReferralFlag(referral=referral, reason=Reason.REFERRER_DEVICE, detail=referral.device)
        )
    for flag in flags:
        flag.created_at = now
    ReferralFlag.objects.bulk_create(flags, ignore_conflicts=True)


def first_order_qualifies(rule: ReferralRule | None, kept) -> bool:
    """Whether a first order that still has `kept` yuan paid (less its refunds) earns the
    referral's rewards: something, and at least the rule's minimum."""
    return kept > 0 and (rule is None or kept >= rule.min_order_amount)


def _first_order_set(referral_id: int, order: Order) -> int:
    return Referral.objects.filter(
        pk=referral_id, status=Status.WAITING, first_order__isnull=True
    ).update(first_order=order, due_at=order.paid_at + return_window(), status=Status.ORDERED)


def referral_first_order(*, order_id: int) -> int:
    """An order was paid: if it is the first of a friend still waiting, its return window
    starts. Again, or a later order, changes nothing."""
    order = Order.objects.filter(pk=order_id).only("pk", "member_id", "paid_at").first()
    if order is None or order.member_id is None or order.paid_at is None:
        return 0
    referral = Referral.objects.filter(referee_id=order.member_id, status=Status.WAITING).first()
    if referral is None:
        return 0
    first = _first_paid_order(order.member_id)
    return _first_order_set(referral.pk, first)


def referrals_merge(*, survivor_id: int, merged_id: int) -> None:
    """A merge: the merged member's friends are the survivor's; one that was the survivor
    itself is a self-referral and earns nothing. The merged member's own referral earns
    nothing more (the survivor joined on their own)."""
    open_ = [Status.WAITING, Status.ORDERED]
    Referral.objects.filter(referrer_id=merged_id, referee_id=survivor_id, status__in=open_).update(
        status=Status.VOID, void_reason=Referral.Void.SELF
    )
    Referral.objects.filter(referrer_id=merged_id).exclude(referee_id=survivor_id).update(
        referrer_id=survivor_id
    )
    Referral.objects.filter(referee_id=merged_id, status__in=open_).update(
        status=Status.VOID, void_reason=Referral.Void.CLOSED
    )


def referral_closed(*, member_id: int) -> None:
    """A friend closed their account before being rewarded: nothing for either side."""
    Referral.objects.filter(
        referee_id=member_id, status__in=[Status.WAITING, Status.ORDERED]
    ).update(status=Status.VOID, void_reason=Referral.Void.CLOSED)


# ---- HQ in the console ----------------------------------------------------------------


@transaction.atomic
def referral_flags_clear(*, referral: Referral, actor, reason: str) -> int:
    """HQ looked at a flagged referral and lets it earn: its open flags are cleared, audited.
    A flag is raised once for each reason, so a cleared one does not come back."""
    open_flags = list(
        ReferralFlag.objects.select_for_update()
        .filter(referral=referral, cleared_at__isnull=True)
        .order_by("pk")
    )
    if not open_flags:
        return 0
    ReferralFlag.objects.filter(pk__in=[f.pk for f in open_flags]).update(
        cleared_at=timezone.now(), cleared_by=actor
    )
    audit_record(
        actor=actor,
        action="referral.clear",
        target=referral,
        before={"flags": [f.reason for f in open_flags]},
        after={"flags": []},
        reason=reason,
    )
    return len(open_flags)


@transaction.atomic
def referral_refuse(*, referral: Referral, actor, reason: str) -> bool:
    """HQ decides a referral earns nothing, audited. A rewarded one stays rewarded."""
    changed = Referral.objects.filter(
        pk=referral.pk, status__in=[Status.WAITING, Status.ORDERED]
    ).update(status=Status.VOID, void_reason=Referral.Void.HQ)
    if changed:
        audit_record(
            actor=actor,
            action="referral.refuse",
            target=referral,
            before={"status": referral.status},
            after={"status": Status.VOID},
            reason=reason,
        )
    return bool(changed)


# ---- the job ----------------------------------------------------------------------------


def referrals_flag_no_purchase(*, now: datetime | None = None, batch: int = 1000) -> int:
    """Friends who have not bought within their rule's days are flagged, once."""
    now = now or timezone.now()
    flagged = 0
    for rule in ReferralRule.objects.filter(referrals__status=Status.WAITING).distinct():
        after = 0
        while True:
            ids = list(
                Referral.objects.filter(
                    rule=rule,
                    status=Status.WAITING,
                    joined_at__lte=now - timedelta(days=rule.purchase_days),
                    pk__gt=after,
                )
                .exclude(flags__reason=Reason.NO_PURCHASE)
                .order_by("pk")
                .values_list("pk", flat=True)[:batch]
            )
            if not ids:
                break
            after = ids[-1]
            made = ReferralFlag.objects.bulk_create(
                [
                    ReferralFlag(
                        referral_id=pk,
                        reason=Reason.NO_PURCHASE,
                        detail=f"{rule.purchase_days}d",
                        created_at=now,
                    )
                    for pk in ids
                ],
                ignore_conflicts=True,
            )
            flagged += len(made)
    return flagged


def _due(now: datetime):
    """Referrals whose first order's window has ended, with no open flag, no blacklisted
    referrer and no refund request of that order still open."""
    return Referral.objects.filter(status=Status.ORDERED, due_at__lte=now).exclude(
        Exists(ReferralFlag.objects.filter(referral=OuterRef("pk"), cleared_at__isnull=True))
        | Exists(ReferrerBlock.objects.filter(member_id=OuterRef("referrer_id")))
        | Exists(
            RefundRequest.objects.filter(
                order_id=OuterRef("first_order_id"), status__in=RefundRequest.OPEN
            )
        )
    )


def referral_rewards_give_due(*, now: datetime | None = None, batch: int = 100) -> dict:
    """Flag friends who never bought, then reward every referral due, a batch a
    transaction. Returns how many were rewarded, voided (refunded) and put off (a
    referrer's daily limit)."""
    now = now or timezone.now()
    done = {"flagged": referrals_flag_no_purchase(now=now), "rewarded": 0, "void": 0, "later": 0}
    after = 0
    while True:
        with transaction.atomic():
            referrals = list(
                _due(now)
                .filter(pk__gt=after)
                .select_for_update(skip_locked=True, of=("self",))
                .select_related("rule", "first_order")
                .order_by("pk")[:batch]
            )
            if not referrals:
                return done
            after = referrals[-1].pk
            for outcome in _give(referrals, now):
                done[outcome] += 1


def _give(referrals: list[Referral], now: datetime):
    # A referrer's limits are counted under their row's lock, taken in key order.
    referrers = sorted({r.referrer_id for r in referrals})
    active = set(
        Member.objects.select_for_update(no_key=True)
        .filter(pk__in=referrers, status=Member.Status.ACTIVE)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    today = timezone.localdate(now)
    given = ReferralReward.objects.filter(side=Side.REFERRER, member_id__in=referrers)
    in_all = dict(given.values("member_id").annotate(n=Count("pk")).values_list("member_id", "n"))
    on_day = dict(
        given.filter(given_on=today)
        .values("member_id")
        .annotate(n=Count("pk"))
        .values_list("member_id", "n")
    )
    for referral in referrals:
        order, rule = referral.first_order, referral.rule
        # read now, under the referral's lock: a refund committed since the batch began
        # counts; one committed later finds the referral rewarded and takes it back
        order.refresh_from_db(fields=["paid_amount", "refunded_amount"])
        if not first_order_qualifies(rule, order.paid_amount - order.refunded_amount):
            Referral.objects.filter(pk=referral.pk).update(
                status=Status.VOID, void_reason=Referral.Void.REFUNDED
            )
            yield "void"
            continue
        referrer = referral.referrer_id
        daily = rule.daily_limit if rule is not None else None
        if daily is not None and on_day.get(referrer, 0) >= daily:
            yield "later"
            continue
        sides = [(Side.REFEREE, referral.referee_id)]
        within_all = (
            rule is None or rule.total_limit is None or (in_all.get(referrer, 0) < rule.total_limit)
        )
        if referrer in active and within_all:
            sides.append((Side.REFERRER, referrer))
        for side, member_id in sides:
            if _reward(referral, rule, side, member_id, now, today) and side == Side.REFERRER:
                on_day[referrer] = on_day.get(referrer, 0) + 1
                in_all[referrer] = in_all.get(referrer, 0) + 1
        Referral.objects.filter(pk=referral.pk).update(status=Status.REWARDED, rewarded_at=now)
        yield "rewarded"


def _reward(referral, rule, side: str, member_id: int, now, today) -> ReferralReward | None:
    """One side's reward, written once: its row, then what it gives, each naming it."""
    prefix = "referrer" if side == Side.REFERRER else "referee"
    points = getattr(rule, f"{prefix}_points", 0) if rule else 0
    growth = getattr(rule, f"{prefix}_growth", 0) if rule else 0
    template = getattr(rule, f"{prefix}_coupon", None) if rule else None
    reward = ReferralReward(
        referral=referral,
        side=side,
        member_id=member_id,
        points=points,
        growth=growth,
        given_at=now,
        given_on=today,
    )
    member = Member.objects.get(pk=member_id)
    if member.status != Member.Status.ACTIVE or not row_insert(
        reward, unless_taken="referral_reward_once"
    ):
        return None
    description = "推荐好友奖励" if side == Side.REFERRER else "好友推荐奖励"
    if points:
        points_earn(
            member=member,
            amount=points,
            cause_kind=Entry.CauseKind.REFERRAL,
            cause_id=reward.pk,
            description=description,
            pending=False,
            now=now,
            part=0,  # a referral rewards two members, a run up to a batch of them
        )
    if growth:
        growth_earn(
            member=member,
            amount=growth,
            kind=GrowthEntry.Kind.ACTION,
            cause_kind=GrowthEntry.CauseKind.REFERRAL,
            cause_id=reward.pk,
            description=description,
            now=now,
        )
    if template is not None:
        coupon = coupon_issue_for_event(
            template=template,
            member=member,
            cause_kind=Coupon.CauseKind.REFERRAL_REWARD,
            cause_id=reward.pk,
            now=now,
        )
        if coupon is not None:
            ReferralReward.objects.filter(pk=reward.pk).update(coupon=coupon)
    return reward

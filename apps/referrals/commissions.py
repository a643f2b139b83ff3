"""Commissions: written when an order is paid, frozen for the return window, then available
(a batched job that may run again any time); a refund takes back its share at once.

A refund takes back a commission's share from where the commission is: from frozen while it
is frozen; once released, from the promoter's available money, and what they already
withdrew becomes a debt (the debt account goes below zero) that their next commissions pay
first when they are released. Nothing is written off. Each step is idempotent: an order
earns once per level (a unique constraint), a release happens once (the commission's
status under its row lock), and a refund takes back what the refunds up to it should have
taken less what was taken already, so a replay takes nothing."""

from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from apps.members.models import Member
from apps.orders.models import Order, Refund, RefundLine
from apps.referrals.ledger import Kind, accounts_lock, commissions_lock, post, transfer
from apps.referrals.models import (
    Commission,
    CommissionEntry,
    CommissionLine,
    CommissionRule,
    Promoter,
)
from apps.referrals.rules import (
    CommissionLineInput,
    Rate,
    RefundedLine,
    RuleBook,
    commissions_split,
    reversal_due,
)
from apps.stores.models import Staff


def rule_book() -> RuleBook:
    """The active commission rules, as the pure rules read them."""
    default, categories, products = None, {}, {}
    for rule in CommissionRule.objects.filter(active=True):
        rate = Rate(mode=rule.mode, level1=rule.level1, level2=rule.level2)
        if rule.scope == CommissionRule.Scope.PRODUCT:
            products[rule.sku] = rate
        elif rule.scope == CommissionRule.Scope.CATEGORY:
            categories[rule.category] = rate
        else:
            default = rate
    return RuleBook(default=default, categories=categories, products=products)


def _recipients(order: Order) -> list[tuple[int, Promoter]]:
    """Who earns at which level: the promoter the order credits and theirs; or, when
    promoters earn on their own purchases, the buyer (if an approved promoter) and the
    promoter the order credits. Only approved promoters earn. An order that credits no
    promoter earns its guide level 1 (COMMISSION_GUIDES): guides promote their store by
    role."""
    named = [order.member_id, order.promoter_id, order.second_promoter_id]
    buyer, first, second = live = _live_on(named)
    others = [m if m != buyer else None for m in (first, second)]
    chain = [buyer, others[0]] if settings.COMMISSION_SELF_PURCHASE and buyer else others
    approved = {
        member: promoter
        for member, promoter in _promoters_of(named, live).items()
        if promoter.status == Promoter.Status.APPROVED
    }
    if settings.COMMISSION_SELF_PURCHASE and buyer not in approved:
        chain = others
    levels = chain[: settings.COMMISSION_LEVELS]
    earning = [(level, approved[m]) for level, m in enumerate(levels, start=1) if m in approved]
    if not earning and order.guide_id and settings.COMMISSION_GUIDES:
        guide = guide_promoter(order.guide_id)
        return [(1, guide)] if guide is not None else []
    return earning


def _recipients_locked(order: Order) -> tuple[list[tuple[int, Promoter]], dict]:
    """The order's recipients with their accounts and the brand's locked. A promoter merge
    that committed after they were read has closed one of them and carried its money over
    already: they are read again (one in flight waits for these locks, and carries over what
    is written here)."""
    while True:
        recipients = _recipients(order)
        if not recipients:
            return [], {}
        ids = [promoter.pk for _level, promoter in recipients]
        locked = accounts_lock(ids, system=(Kind.BRAND,))
        if not Promoter.objects.filter(pk__in=ids, status=Promoter.Status.MERGED).exists():
            return recipients, locked


def _credits_no_one(order: Order) -> bool:
    """Whether no one can earn on the order whoever is a promoter now (`_recipients` would
    find no one): it names no promoter, no guide who earns, and a buyer does not earn on
    their own purchases. Most sales, known without reading anything more."""
    return not (
        order.promoter_id
        or order.second_promoter_id
        or (order.guide_id and settings.COMMISSION_GUIDES)
        or settings.COMMISSION_SELF_PURCHASE
    )


def _live_on(member_ids: list[int | None]) -> list[int | None]:
    """Each member, or the one they were merged into since (an order records whom it credits
    when placed; what a merged member earns is their survivor's)."""
    merged: dict[int, int] = {}
    wanted = {m for m in member_ids if m}
    while wanted:  # a survivor merged again later: a short chain
        step = dict(
            Member.objects.filter(pk__in=wanted, merged_into__isnull=False).values_list(
                "pk", "merged_into"
            )
        )
        merged.update(step)
        wanted = set(step.values()) - set(merged)
    resolved = []
    for member in member_ids:
        while member in merged:
            member = merged[member]
        resolved.append(member)
    return resolved


def _promoters_of(named: list[int | None], live: list[int | None]) -> dict[int, Promoter]:
    """Each live member's promoter record: their own; or, when they have none, the record of
    the member the order named, merged into them since, until promoters_merge (run on
    member_merged, maybe after the order's commissions) moves it to them with what it
    earned."""
    records = {
        promoter.member_id: promoter
        for promoter in Promoter.objects.filter(
            member_id__in={m for m in (*named, *live) if m}
        ).exclude(status=Promoter.Status.MERGED)
    }
    found: dict[int, Promoter] = {}
    for member, as_named in zip(live, named, strict=True):
        if member and (record := records.get(member) or records.get(as_named)):
            found.setdefault(member, record)
    return found


def guide_promoter(staff_id: int) -> Promoter | None:
    """The promoter a guide is by role (made the first time they earn): None for staff in
    another role or who left, and for a guide HQ suspended."""
    promoter = Promoter.objects.filter(guide_id=staff_id).first()
    if promoter is None:
        staff = Staff.objects.filter(pk=staff_id, role=Staff.Role.GUIDE, is_active=True).first()
        if staff is None or staff.store_id is None:
            return None
        promoter, _made = Promoter.objects.get_or_create(
            guide=staff,
            defaults={
                "store_id": staff.store_id,
                "status": Promoter.Status.APPROVED,
                "decided_at": timezone.now(),
            },
        )
    return promoter if promoter.status == Promoter.Status.APPROVED else None


def _base(line) -> Decimal:
    """What of a line earns commission: what was paid after every discount; with
    COMMISSION_ON_POINTS also what points paid."""
    return line.paid + (line.points_deduction if settings.COMMISSION_ON_POINTS else 0)


@transaction.atomic
def commissions_write(*, order_id: int, now: datetime | None = None) -> list[Commission]:
    """A paid order's commissions, frozen until its return window ends; then any refund
    already made takes its share back (its event may have been handled first)."""
    now = now or timezone.now()
    order = Order.objects.get(pk=order_id)
    if order.paid_at is None or _credits_no_one(order):
        return []
    written = list(order.commissions.order_by("level"))
    if written:
        return written  # a replay
    recipients, locked = _recipients_locked(order)
    if not recipients:
        return []
    lines = list(order.lines.order_by("line_no"))
    first, second = commissions_split(
        [
            CommissionLineInput(line.sku, line.category, line.quantity, _base(line))
            for line in lines
        ],
        rule_book(),
        levels=settings.COMMISSION_LEVELS,
    )
    parts = {1: first, 2: second}
    available_on = order.paid_at + timedelta(days=settings.COMMISSION_FROZEN_DAYS)
    entries: list[CommissionEntry] = []
    for level, promoter in recipients:
        amount = sum(parts[level], Decimal(0))
        if amount <= 0:
            continue
        commission = Commission.objects.create(
            order=order,
            level=level,
            promoter=promoter,
            base=sum((_base(line) for line in lines), Decimal(0)),
            amount=amount,
            status=Commission.Status.FROZEN,
            available_on=available_on,
            created_at=now,
        )
        CommissionLine.objects.bulk_create(
            CommissionLine(commission=commission, line=line, amount=part)
            for line, part in zip(lines, parts[level], strict=True)
        )
        written.append(commission)
        transfer(
            entries,
            CommissionEntry(
                kind=CommissionEntry.Kind.EARN,
                from_account=locked[Kind.BRAND],
                to_account=locked[promoter.pk, Kind.FROZEN],
                amount=amount,
                promoter=promoter,
                commission=commission,
                description=f"订单 {order.order_no} {level}级佣金",
                created_at=now,
            ),
        )
    post(entries)
    for refund_id in order.refunds.order_by("pk").values_list("pk", flat=True):
        commissions_reverse(refund_id=refund_id, now=now)
    return written


@transaction.atomic
def commissions_reverse(*, refund_id: int, now: datetime | None = None) -> Decimal:
    """A refund takes back its share of the order's commissions: what the refunds up to and
    including it should have taken, less what was taken. Returns the money taken back."""
    now = now or timezone.now()
    refund = Refund.objects.select_related("order").get(pk=refund_id)
    order = refund.order
    ids = list(order.commissions.values_list("pk", flat=True))
    if not ids:
        return Decimal(0)
    commissions = commissions_lock(ids)
    refunded = {
        row["line"]: row
        for row in RefundLine.objects.filter(refund__order=order, refund_id__lte=refund.pk)
        .values("line")
        .annotate(amount=Sum("amount"), quantity=Sum("quantity"))
    }
    parts = CommissionLine.objects.filter(commission_id__in=ids).select_related("line")
    by_commission: dict[int, list[RefundedLine]] = {pk: [] for pk in ids}
    paid = refunded_total = Decimal(0)
    for part in parts:
        line, done = part.line, refunded.get(part.line_id, {})
        by_commission[part.commission_id].append(
            RefundedLine(
                commission=part.amount,
                paid=line.paid,
                quantity=line.quantity,
                refunded_amount=done.get("amount") or Decimal(0),
                refunded_quantity=done.get("quantity") or 0,
            )
        )
    for line in order.lines.all():
        paid += line.paid
        refunded_total += (refunded.get(line.pk) or {}).get("amount") or Decimal(0)
    full = paid > 0 and refunded_total >= paid
    locked = accounts_lock(
        {commission.promoter_id for commission in commissions}, system=(Kind.BRAND,)
    )
    entries: list[CommissionEntry] = []
    taken = Decimal(0)
    for commission in commissions:
        due = min(reversal_due(by_commission[commission.pk], full=full), commission.amount)
        due -= commission.reversed
        if due <= 0:
            continue
        _take_back(entries, locked, commission, refund, due, now)
        commission.reversed += due
        if commission.reversed == commission.amount:
            commission.status = Commission.Status.REVERSED
        commission.save(update_fields=["reversed", "status"])
        taken += due
    post(entries)
    return taken


def _take_back(entries, locked, commission: Commission, refund: Refund, due: Decimal, now):
    promoter = commission.promoter_id

    def back(source: str, amount: Decimal) -> None:
        transfer(
            entries,
            CommissionEntry(
                kind=CommissionEntry.Kind.REVERSE,
                from_account=locked[promoter, source],
                to_account=locked[Kind.BRAND],
                amount=amount,
                promoter_id=promoter,
                commission=commission,
                refund=refund,
                description=f"退款 {refund.refund_no} 扣回佣金",
                created_at=now,
            ),
        )

    if commission.status == Commission.Status.FROZEN:
        back(Kind.FROZEN, due)
        return
    from_available = min(due, locked[promoter, Kind.AVAILABLE].balance)
    if from_available > 0:
        back(Kind.AVAILABLE, from_available)
    if due - from_available > 0:
        back(Kind.DEBT, due - from_available)  # already withdrawn: owed, paid from the next


def commissions_release_due(*, now: datetime | None = None, batch: int = 500) -> int:
    """Frozen commissions whose return window has ended become available, each paying the
    promoter's debt first. Batches, one transaction each; safe to run again. Returns how
    many were released."""
    now = now or timezone.now()
    released = 0
    while True:
        with transaction.atomic():
            due = list(
                Commission.objects.filter(status=Commission.Status.FROZEN, available_on__lte=now)
                .order_by("pk")
                .values_list("pk", flat=True)[:batch]
            )
            if not due:
                return released
            released += _release(due, now)


def _release(ids: list[int], now: datetime) -> int:
    # a refund may have taken one back in full since it was picked: the lock shows it
    commissions = [c for c in commissions_lock(ids) if c.status == Commission.Status.FROZEN]
    locked = accounts_lock({commission.promoter_id for commission in commissions})
    entries: list[CommissionEntry] = []
    for commission in commissions:
        promoter = commission.promoter_id
        frozen, debt = locked[promoter, Kind.FROZEN], locked[promoter, Kind.DEBT]
        left = commission.amount - commission.reversed
        repay = min(left, -debt.balance)
        for kind, target, amount in (
            (CommissionEntry.Kind.REPAY, debt, repay),
            (CommissionEntry.Kind.RELEASE, locked[promoter, Kind.AVAILABLE], left - repay),
        ):
            if amount > 0:
                transfer(
                    entries,
                    CommissionEntry(
                        kind=kind,
                        from_account=frozen,
                        to_account=target,
                        amount=amount,
                        promoter_id=promoter,
                        commission=commission,
                        description="佣金解冻" if kind == "release" else "佣金抵扣欠款",
                        created_at=now,
                    ),
                )
    post(entries)
    Commission.objects.filter(pk__in=[c.pk for c in commissions]).update(
        status=Commission.Status.AVAILABLE, released_at=now
    )
    return len(commissions)

"""提现: a promoter withdraws available commission; finance approves or refuses.

Asking moves the money from the promoter's available account to the ledger's withdrawing
account at once, under the lock of the promoter's accounts: two requests at once never take
more than is available, and none is made while the promoter is in debt. Approving pays the
withdrawal out through the payout backend (outside any transaction, the withdrawal's number
as its reference) and then records it paid, once: the withdrawal's status changes under its
row lock, so a second approval or a retried payout finds it decided. Refusing, or a payout
the gateway refuses for good, gives the money back, paying any debt first. A payout WeChat
pays only once the member confirms receipt waits for that (awaiting confirmation, the
package they confirm with kept on the withdrawal); one they never confirm, which WeChat
cancels, gives the money back like any failed payout. WeChat's notice that a payout ended
settles it at once (withdrawal_transfer_noticed); withdrawals_pay_out_due, every few
minutes, settles those whose notice never came. Each decision is audited."""

import contextlib
import logging
import re
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, Sum
from django.utils import timezone

from apps.core.audit import audit_record
from apps.core.queue import enqueue
from apps.members.models import MemberIdentity
from apps.orders.payments import TransferNotice
from apps.referrals.errors import (
    PayeeUnknown,
    PayoutAwaitsConfirmation,
    PayoutFailed,
    PayoutPending,
    PayoutsOff,
    WithdrawalAboveAvailable,
    WithdrawalBelowMinimum,
    WithdrawalDailyCount,
    WithdrawalDailyLimit,
    WithdrawalInDebt,
    WithdrawalKeyReused,
    WithdrawalNotDecidable,
)
from apps.referrals.ledger import Kind, accounts_lock, post, transfer, withdrawal_lock
from apps.referrals.models import CommissionEntry, Promoter, Withdrawal
from apps.referrals.payouts import payout_backend

logger = logging.getLogger(__name__)

Status = Withdrawal.Status
_PAYING = (Status.APPROVED, Status.CONFIRMING)  # approved, the payout not settled yet
_OPEN = (Status.REQUESTED, *_PAYING, Status.PAID)
_BILL_NUMBER = re.compile(r"W(\d{12})")


def withdrawal_fee(amount: Decimal) -> Decimal:
    """WITHDRAWAL_FEE_PERCENT of `amount`, to the fen, half up."""
    fee = amount * settings.WITHDRAWAL_FEE_PERCENT / 100
    return fee.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _entry(kind, source, target, withdrawal: Withdrawal, amount, description, now):
    return CommissionEntry(
        kind=kind,
        from_account=source,
        to_account=target,
        amount=amount,
        promoter_id=withdrawal.promoter_id,
        withdrawal=withdrawal,
        description=description,
        created_at=now,
    )


def withdrawal_request(
    *, promoter: Promoter, amount: Decimal, key: str, now: datetime | None = None
) -> Withdrawal:
    """A promoter asks to withdraw `amount` yuan. Idempotent on `key`: a replay answers the
    first request (another amount under the same key conflicts)."""
    now = now or timezone.now()
    try:
        with transaction.atomic():
            return _request(promoter, amount, key, now)
    except IntegrityError:
        first = Withdrawal.objects.filter(promoter=promoter, key=key).first()
        if first is None:
            raise
        if first.amount != amount:
            raise WithdrawalKeyReused() from None
        return first


def _request(promoter: Promoter, amount: Decimal, key: str, now: datetime) -> Withdrawal:
    if (first := Withdrawal.objects.filter(promoter=promoter, key=key).first()) is not None:
        if first.amount != amount:
            raise WithdrawalKeyReused()
        return first
    if amount < settings.WITHDRAWAL_MIN:
        raise WithdrawalBelowMinimum(minimum=settings.WITHDRAWAL_MIN)
    locked = accounts_lock([promoter.pk], system=(Kind.WITHDRAWING,))
    available, debt = locked[promoter.pk, Kind.AVAILABLE], locked[promoter.pk, Kind.DEBT]
    if debt.balance < 0:
        raise WithdrawalInDebt(debt=-debt.balance)
    if amount > available.balance:
        raise WithdrawalAboveAvailable(available=available.balance)
    most, most_count = settings.WITHDRAWAL_DAILY_MOST, settings.WITHDRAWAL_DAILY_COUNT
    if most or most_count:
        today = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
        day = Withdrawal.objects.filter(
            promoter=promoter, status__in=_OPEN, requested_at__gte=today
        ).aggregate(total=Sum("amount", default=Decimal(0)), count=Count("pk"))
        if most and day["total"] + amount > most:
            raise WithdrawalDailyLimit(most=most, left=max(most - day["total"], Decimal(0)))
        if most_count and day["count"] >= most_count:
            raise WithdrawalDailyCount(most=most_count)
    withdrawal = Withdrawal.objects.create(
        promoter=promoter,
        amount=amount,
        fee=withdrawal_fee(amount),
        status=Status.REQUESTED,
        key=key,
        requested_at=now,
    )
    entries: list[CommissionEntry] = []
    transfer(
        entries,
        _entry(
            CommissionEntry.Kind.WITHDRAW,
            available,
            locked[Kind.WITHDRAWING],
            withdrawal,
            amount,
            "佣金提现申请",
            now,
        ),
    )
    post(entries)
    return withdrawal


def withdrawal_approve(*, withdrawal: Withdrawal, actor) -> Withdrawal:
    """Finance approves a requested withdrawal: it is paid out, then recorded paid. With
    payouts off (PAYOUT_BACKEND empty), PayoutsOff and nothing changes."""
    if payout_backend().needs_openid and not _openid(withdrawal):
        raise PayeeUnknown()
    with transaction.atomic():
        withdrawal = _decide(withdrawal, Status.APPROVED, actor, reason="")
    return withdrawal_pay_out(withdrawal=withdrawal)


def _openid(withdrawal: Withdrawal) -> str:
    """The promoter's openid in the mini-program (WECHATPAY_APP_ID's), the latest."""
    return (
        MemberIdentity.objects.filter(
            member_id=withdrawal.promoter.member_id, kind=MemberIdentity.Kind.WECHAT_OPENID
        )
        .order_by("-created_at", "-pk")
        .values_list("value", flat=True)
        .first()
        or ""
    )


def withdrawal_pay_out(*, withdrawal: Withdrawal) -> Withdrawal:
    """Pay an approved withdrawal through the payout backend and record it, once; run again
    for one whose payout was cut off, is still processing or awaits the member's
    confirmation (the backend takes the same reference once). A payout not settled yet
    leaves it approved, or awaiting confirmation."""
    if withdrawal.status not in _PAYING:
        return withdrawal
    try:
        reference = payout_backend().transfer(
            reference=_bill_no(withdrawal),
            openid=_openid(withdrawal),
            amount=withdrawal.net,
            description="佣金提现",
            package_held=bool(withdrawal.payout_package),
        )
    except PayoutAwaitsConfirmation as waiting:
        return _awaiting_confirmation(withdrawal, waiting.package)
    except PayoutPending as pending:
        logger.info("withdrawal %s not settled yet: %s", withdrawal.pk, pending)
        return withdrawal
    except PayoutFailed as failure:
        try:
            return _give_back(withdrawal, Status.FAILED, actor=None, reason=str(failure))
        except WithdrawalNotDecidable:  # a run at the same time settled it first
            withdrawal.refresh_from_db()
            return withdrawal
    return _paid(withdrawal, reference)


def _bill_no(withdrawal: Withdrawal) -> str:
    """The withdrawal's number at the payout gateway (WeChat's out_bill_no)."""
    return f"W{withdrawal.pk:012d}"


def withdrawal_transfer_noticed(*, notice: TransferNotice) -> Withdrawal | None:
    """The gateway's notice (verified by the payment backend) that a withdrawal's payout
    ended: the withdrawal settled at once, as withdrawals_pay_out_due settles it, under its
    row lock, so the same notice again, or the job at the same time, settles it once. None,
    logged, for a bill that is no withdrawal here.

    A payout the notice says was paid, of the withdrawal's own net amount, is recorded paid
    from the notice: WeChat signs it, and recording it gives nobody money. Any other end
    (failed, cancelled, or paid another amount) gives the money back, which the promoter
    could withdraw again, only on WeChat's own answer to the job's query: a task asks
    (withdrawal_pay_out), after the notice is answered."""
    number = _BILL_NUMBER.fullmatch(notice.bill_no)
    withdrawal = number and Withdrawal.objects.filter(pk=int(number[1])).first()
    if not withdrawal:
        logger.warning("transfer notice for %s: no such withdrawal", notice.bill_no)
        return None
    if withdrawal.status not in _PAYING:
        return withdrawal  # settled already, by the job or an earlier notice
    if notice.paid and notice.amount == withdrawal.net:
        return _paid(withdrawal, notice.transfer_id)
    if notice.paid:
        logger.warning(
            "transfer notice for withdrawal %s paid %s, not %s: WeChat is asked",
            withdrawal.pk,
            notice.amount,
            withdrawal.net,
        )
    from apps.referrals.tasks import withdrawal_pay_out_task

    transaction.on_commit(lambda: enqueue(withdrawal_pay_out_task, withdrawal.pk))
    return withdrawal


@transaction.atomic
def _awaiting_confirmation(withdrawal: Withdrawal, package: str) -> Withdrawal:
    """The payout waits for the member to confirm receipt with `package` (kept; an empty
    one leaves the package they hold). Audited when it starts waiting."""
    withdrawal = withdrawal_lock(withdrawal)
    before = withdrawal.status
    unchanged = before == Status.CONFIRMING and package in ("", withdrawal.payout_package)
    if before not in _PAYING or unchanged:
        return withdrawal  # settled meanwhile, or waiting already with nothing new
    withdrawal.status = Status.CONFIRMING
    withdrawal.payout_package = package or withdrawal.payout_package
    withdrawal.save(update_fields=["status", "payout_package"])
    if before != Status.CONFIRMING:
        audit_record(
            actor=None,
            action=f"withdrawal.{Status.CONFIRMING}",
            target=withdrawal,
            before={"status": before},
            after={"status": Status.CONFIRMING, "amount": str(withdrawal.amount)},
        )
    return withdrawal


def withdrawals_pay_out_due(*, batch: int = 100) -> int:
    """Ask the payout backend again about every approved withdrawal not yet paid (one
    processing at the gateway, awaiting the member's confirmation, or whose payout was cut
    off); how many were settled. Batched by id, rerunnable: each is settled once, under its
    row lock."""
    settled, after = 0, 0
    with contextlib.suppress(PayoutsOff):
        payout_backend()
        while ids := list(
            Withdrawal.objects.filter(status__in=_PAYING, pk__gt=after)
            .order_by("pk")
            .values_list("pk", flat=True)[:batch]
        ):
            for withdrawal in Withdrawal.objects.filter(pk__in=ids).select_related("promoter"):
                settled += withdrawal_pay_out(withdrawal=withdrawal).status not in _PAYING
            after = ids[-1]
    return settled


@transaction.atomic
def _paid(withdrawal: Withdrawal, reference: str) -> Withdrawal:
    withdrawal = withdrawal_lock(withdrawal)
    if withdrawal.status not in _PAYING:
        return withdrawal  # recorded by an earlier run
    now = timezone.now()
    locked = accounts_lock([], system=(Kind.BRAND, Kind.WITHDRAWING, Kind.PAID_OUT))
    entries: list[CommissionEntry] = []
    for kind, target, amount in (
        (CommissionEntry.Kind.PAY, locked[Kind.PAID_OUT], withdrawal.net),
        (CommissionEntry.Kind.FEE, locked[Kind.BRAND], withdrawal.fee),
    ):
        if amount > 0:
            transfer(
                entries,
                _entry(kind, locked[Kind.WITHDRAWING], target, withdrawal, amount, "佣金提现", now),
            )
    post(entries)
    withdrawal.status, withdrawal.paid_at, withdrawal.payout_ref = Status.PAID, now, reference
    withdrawal.payout_package = ""  # confirmed: nothing left to confirm with
    withdrawal.save(update_fields=["status", "paid_at", "payout_ref", "payout_package"])
    audit_record(actor=None, action="withdrawal.paid", target=withdrawal, after={"ref": reference})
    return withdrawal


def withdrawal_refuse(*, withdrawal: Withdrawal, actor, reason: str) -> Withdrawal:
    """Finance refuses a requested withdrawal: its money is available again (less any debt
    a refund left meanwhile, which it pays first)."""
    return _give_back(withdrawal, Status.REFUSED, actor=actor, reason=reason)


@transaction.atomic
def _give_back(withdrawal: Withdrawal, status: str, *, actor, reason: str) -> Withdrawal:
    withdrawal = _decide(withdrawal, status, actor, reason)
    now, promoter = timezone.now(), withdrawal.promoter_id
    locked = accounts_lock([promoter], system=(Kind.WITHDRAWING,))
    available, debt = locked[promoter, Kind.AVAILABLE], locked[promoter, Kind.DEBT]
    entries: list[CommissionEntry] = []
    transfer(
        entries,
        _entry(
            CommissionEntry.Kind.RETURN,
            locked[Kind.WITHDRAWING],
            available,
            withdrawal,
            withdrawal.amount,
            "佣金提现退回",
            now,
        ),
    )
    if (repay := min(available.balance, -debt.balance)) > 0:
        transfer(
            entries,
            _entry(CommissionEntry.Kind.REPAY, available, debt, withdrawal, repay, "抵扣欠款", now),
        )
    post(entries)
    return withdrawal


def _decide(withdrawal: Withdrawal, status: str, actor, reason: str) -> Withdrawal:
    """The withdrawal, locked, moved to `status` from the one it must be in; audited."""
    withdrawal = withdrawal_lock(withdrawal)
    may_be = _PAYING if status == Status.FAILED else (Status.REQUESTED,)
    if withdrawal.status not in may_be:
        raise WithdrawalNotDecidable(status=withdrawal.get_status_display())
    before = withdrawal.status
    withdrawal.status, withdrawal.reason = status, reason[:200]
    withdrawal.payout_package = ""
    if actor is not None:
        withdrawal.decided_by, withdrawal.decided_at = actor, timezone.now()
    withdrawal.save(
        update_fields=["status", "reason", "decided_by", "decided_at", "payout_package"]
    )
    audit_record(
        actor=actor,
        action=f"withdrawal.{status}",
        target=withdrawal,
        before={"status": before},
        after={"status": status, "amount": str(withdrawal.amount)},
        reason=reason,
    )
    return withdrawal

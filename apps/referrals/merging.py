"""A member merge (two accounts, one person) in distribution: the person keeps one promoter
record and everything it earned, once.

- Only the merged member was a promoter: the survivor takes over that promoter record whole
  (its accounts, commissions and withdrawals stay on it); nothing in the ledger moves.
- Both were: the survivor's record carries on. The merged one's commissions and its
  withdrawals in flight become the survivor's (so later releases, refunds, refusals and
  payouts land there), and its frozen, available and debt balances move to the survivor's
  by `merge` entries — history is never rewritten; the merged record keeps its entries and
  is closed as merged. A debt carried over is paid first from what is available, as
  everywhere in the ledger. The survivor's record takes the stronger standing of the two
  (a suspension is never lifted by a merge, an approval never lost).

Withdrawals in flight move rather than block the merge: their money already left the
promoter's accounts for the withdrawing account, so only who is paid (the survivor's
openid: the merged member's channel ids moved to it) and who gets it back on a refusal
change, and a merge asked by customer service never waits for finance. Run from the
`member_merged` event; again, it finds the merged record closed and does nothing."""

from django.db import transaction
from django.db.models import Value
from django.db.models.functions import Concat, Left
from django.utils import timezone

from apps.core.audit import audit_record
from apps.referrals.ledger import Kind, accounts_lock, commissions_lock, post, transfer
from apps.referrals.models import CommissionEntry, Promoter, Withdrawal

Status = Promoter.Status
# Which record's standing the survivor keeps: the first of these either has.
_STANDING = (Status.SUSPENDED, Status.APPROVED, Status.APPLIED, Status.REFUSED)
_IN_FLIGHT = (
    Withdrawal.Status.REQUESTED,
    Withdrawal.Status.APPROVED,
    Withdrawal.Status.CONFIRMING,
)


@transaction.atomic
def promoters_merge(*, survivor_id: int, merged_id: int) -> Promoter | None:
    """The promoter record the survivor carries on with (None if neither was a promoter)."""
    rows = {
        promoter.member_id: promoter
        for promoter in Promoter.objects.select_for_update()
        .filter(member_id__in=[survivor_id, merged_id])
        .exclude(status=Status.MERGED)
        .order_by("pk")
    }
    merged, survivor = rows.get(merged_id), rows.get(survivor_id)
    if merged is None:
        return survivor
    if survivor is None:
        Promoter.objects.filter(pk=merged.pk).update(member_id=survivor_id)
        audit_record(
            actor=None,
            action="promoter.merge",
            target=merged,
            before={"member": merged_id},
            after={"member": survivor_id},
            reason="member.merge",
        )
        merged.member_id = survivor_id
        return merged
    before = {"survivor": _state(survivor), "merged": _state(merged)}
    _carry_over(merged, survivor)
    standing = min(survivor, merged, key=lambda p: _STANDING.index(p.status))
    Promoter.objects.filter(pk=survivor.pk).update(
        status=standing.status,
        store=survivor.store or merged.store,
        decided_at=standing.decided_at,
        decided_by=standing.decided_by,
        reason=standing.reason,
    )
    Promoter.objects.filter(merged_into=merged).update(merged_into=survivor)
    Promoter.objects.filter(pk=merged.pk).update(status=Status.MERGED, merged_into=survivor)
    survivor.refresh_from_db()
    audit_record(
        actor=None,
        action="promoter.merge",
        target=survivor,
        before=before,
        after={"survivor": _state(survivor)},
        reason="member.merge",
    )
    return survivor


def _state(promoter: Promoter) -> dict:
    return {"promoter": promoter.pk, "member": promoter.member_id, "status": promoter.status}


def _carry_over(merged: Promoter, survivor: Promoter) -> None:
    """In the ledger's lock order: the merged record's commissions, its withdrawals in
    flight, then both records' accounts."""
    commissions = commissions_lock(merged.commissions.values_list("pk", flat=True))
    merged.commissions.filter(pk__in=[c.pk for c in commissions]).update(promoter=survivor)
    _withdrawals_hand_over(merged, survivor)
    locked = accounts_lock([merged.pk, survivor.pk])
    # a commission written, or a withdrawal asked, for the merged record since the locks
    # above held these accounts until it committed: its money is in the balances moved
    # below, so it goes to the survivor too (none can come now the accounts are held)
    merged.commissions.update(promoter=survivor)
    _withdrawals_hand_over(merged, survivor)
    entries: list[CommissionEntry] = []
    now = timezone.now()

    def move(source, target, amount, kind=CommissionEntry.Kind.MERGE, what="会员合并转入"):
        transfer(
            entries,
            CommissionEntry(
                kind=kind,
                from_account=source,
                to_account=target,
                amount=amount,
                promoter=survivor,
                description=f"{what} (推广员 #{merged.pk})",
                created_at=now,
            ),
        )

    for kind in (Kind.FROZEN, Kind.AVAILABLE):
        move(locked[merged.pk, kind], locked[survivor.pk, kind], locked[merged.pk, kind].balance)
    # a debt is carried the other way: the survivor's debt account owes what the merged owed
    move(
        locked[survivor.pk, Kind.DEBT],
        locked[merged.pk, Kind.DEBT],
        -locked[merged.pk, Kind.DEBT].balance,
    )
    available, debt = locked[survivor.pk, Kind.AVAILABLE], locked[survivor.pk, Kind.DEBT]
    if (repay := min(available.balance, -debt.balance)) > 0:
        move(available, debt, repay, kind=CommissionEntry.Kind.REPAY, what="合并后抵扣欠款")
    post(entries)


def _withdrawals_hand_over(merged: Promoter, survivor: Promoter) -> None:
    """The merged record's withdrawals in flight become the survivor's, their keys marked
    with the record they came from (the survivor may have used the same key)."""
    Withdrawal.objects.filter(promoter=merged, status__in=_IN_FLIGHT).update(
        promoter=survivor,
        key=Left(Concat(Value(f"merged-{merged.pk}:"), "key"), 120),
    )

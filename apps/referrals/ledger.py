"""The commission ledger's accounts, its locks and the one way money moves in it.

Lock order (every write takes its locks in it, so no two transactions wait in a circle):
0. a member merge's two promoter records (apps.referrals.merging; nothing else in the
   ledger locks promoter rows);
1. the commissions being released or reversed, in primary-key order (`commissions_lock`);
2. the withdrawal being decided (`withdrawal_lock`);
3. the accounts money moves between, in primary-key order, in one statement
   (`accounts_lock`). The system accounts (brand, withdrawing, paid out) are made first (by
   the migration), so they come before every promoter's.
`post` writes a batch of entries and moves every balance they touch in one UPDATE."""

from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal

from django.db.models import Case, DecimalField, F, Q, Value, When
from django.db.models.functions import Round

from apps.referrals.models import Commission, CommissionAccount, CommissionEntry, Withdrawal

Kind = CommissionAccount.Kind
PROMOTER_KINDS = (Kind.FROZEN, Kind.AVAILABLE, Kind.DEBT)


def system_accounts(kinds) -> list[int]:
    """The ids of these system accounts (the migration makes them; made here if missing)."""
    found = dict(
        CommissionAccount.objects.filter(kind__in=kinds, promoter=None).values_list("kind", "pk")
    )
    if len(found) < len(kinds):
        CommissionAccount.objects.bulk_create(
            [CommissionAccount(kind=kind) for kind in kinds], ignore_conflicts=True
        )
        return system_accounts(kinds)
    return list(found.values())


def accounts_lock(promoter_ids: Iterable[int], *, system: tuple[str, ...] = ()) -> dict:
    """The promoters' three accounts (made when missing) and the `system` ones, locked in
    primary-key order: {(promoter id, kind): account, system kind: account}."""
    promoter_ids = sorted(set(promoter_ids))
    CommissionAccount.objects.bulk_create(
        [
            CommissionAccount(kind=kind, promoter_id=promoter)
            for promoter in promoter_ids
            for kind in PROMOTER_KINDS
        ],
        ignore_conflicts=True,  # another transaction may be making the same ones: theirs stand
    )
    wanted = Q(promoter_id__in=promoter_ids)
    if system:
        wanted |= Q(pk__in=system_accounts(system))
    locked = {}
    for account in CommissionAccount.objects.filter(wanted).select_for_update().order_by("pk"):
        key = account.kind if account.promoter_id is None else (account.promoter_id, account.kind)
        locked[key] = account
    return locked


def commissions_lock(ids: Iterable[int]) -> list[Commission]:
    return list(Commission.objects.select_for_update().filter(pk__in=list(ids)).order_by("pk"))


def withdrawal_lock(withdrawal: Withdrawal) -> Withdrawal:
    return Withdrawal.objects.select_for_update().get(pk=withdrawal.pk)


def post(entries: list[CommissionEntry]) -> list[CommissionEntry]:
    """Write `entries` and move their amounts between the accounts' balances (one INSERT,
    one UPDATE). The caller holds the locks of every account named and built the batch with
    `transfer`."""
    entries = [entry for entry in entries if entry.amount > 0]
    if not entries:
        return []
    moves: dict[int, Decimal] = defaultdict(Decimal)
    for entry in entries:
        moves[entry.from_account.pk] -= entry.amount
        moves[entry.to_account.pk] += entry.amount
    written = CommissionEntry.objects.bulk_create(entries)
    # rounded to the fen: exact on PostgreSQL, and on the embedded SQLite, whose decimals
    # are floats, no 0.1 + 0.2 left a hair below zero
    CommissionAccount.objects.filter(pk__in=list(moves)).update(
        balance=Round(
            F("balance")
            + Case(
                *(When(pk=pk, then=Value(delta)) for pk, delta in moves.items()),
                default=Value(Decimal(0)),
                output_field=DecimalField(max_digits=14, decimal_places=2),
            ),
            2,
        )
    )
    return written


def transfer(entries: list[CommissionEntry], entry: CommissionEntry) -> None:
    """Add `entry` to a batch being built, moving the in-memory balances of its accounts so
    that the next decision of the batch sees them."""
    entry.from_account.balance -= entry.amount
    entry.to_account.balance += entry.amount
    entries.append(entry)

"""The commission ledger's accounts, its locks and the one way money moves in it.

Lock order (every write takes its locks in it, so no two transactions wait in a circle):
1. the commissions being released or reversed, in primary-key order (`commissions_lock`);
2. the accounts money moves between, in primary-key order, in one statement
   (`accounts_lock`). The brand's account is made first (by the migration), so it comes
   before every promoter's.
`post` writes a batch of entries and moves every balance they touch in one UPDATE."""

from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal

from django.db.models import Case, F, Value, When

from apps.referrals.models import Commission, CommissionAccount, CommissionEntry

Kind = CommissionAccount.Kind
PROMOTER_KINDS = (Kind.FROZEN, Kind.AVAILABLE, Kind.DEBT)


def brand_account() -> CommissionAccount:
    account = CommissionAccount.objects.filter(kind=Kind.BRAND).first()
    if account is None:  # the migration makes it; a flushed test database may not have it
        CommissionAccount.objects.bulk_create(
            [CommissionAccount(kind=Kind.BRAND)], ignore_conflicts=True
        )
        account = CommissionAccount.objects.get(kind=Kind.BRAND)
    return account


def accounts_lock(promoter_ids: Iterable[int], *, brand: bool = False) -> dict:
    """The promoters' three accounts (made when missing) and, with `brand`, the brand's,
    locked in primary-key order: {(promoter id, kind): account, "brand": account}."""
    promoter_ids = sorted(set(promoter_ids))
    CommissionAccount.objects.bulk_create(
        [
            CommissionAccount(kind=kind, promoter_id=p)
            for p in promoter_ids
            for kind in PROMOTER_KINDS
        ],
        ignore_conflicts=True,  # another transaction may be making the same ones: theirs stand
    )
    wanted = CommissionAccount.objects.filter(promoter_id__in=promoter_ids)
    if brand:
        wanted = wanted | CommissionAccount.objects.filter(pk=brand_account().pk)
    locked = {}
    for account in wanted.select_for_update().order_by("pk"):
        locked["brand" if account.kind == Kind.BRAND else (account.promoter_id, account.kind)] = (
            account
        )
    return locked


def commissions_lock(ids: Iterable[int]) -> list[Commission]:
    return list(Commission.objects.select_for_update().filter(pk__in=list(ids)).order_by("pk"))


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
    CommissionAccount.objects.filter(pk__in=list(moves)).update(
        balance=F("balance")
        + Case(*(When(pk=pk, then=Value(delta)) for pk, delta in moves.items()), default=0)
    )
    return written


def transfer(entries: list[CommissionEntry], entry: CommissionEntry) -> None:
    """Add `entry` to a batch being built, moving the in-memory balances of its accounts so
    that the next decision of the batch sees them."""
    entry.from_account.balance -= entry.amount
    entry.to_account.balance += entry.amount
    entries.append(entry)

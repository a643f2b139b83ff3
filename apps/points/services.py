"""Writes to the points ledger. Each use case is one transaction that locks the accounts it
moves points between in primary-key order (so no two transactions deadlock), checks,
writes the entry, updates both balances with F() and records which lots were used.
Every entry names its cause as (kind, id). An order's and a refund's entries are unique by
their cause, and so are those of the causes that write once (an event's bonus per earning
rule, an import or a job batch per member, a merge); every other write carries the
idempotency key its client or form supplied. A replay returns the first entry and does
nothing.
"""

import functools
from collections import defaultdict
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, connections, transaction
from django.db.models import F, OuterRef, Q, Subquery, Sum
from django.utils import timezone

from apps.core.audit import audit_record
from apps.core.bulk import rows_insert
from apps.core.rows import column, insert_statement, row_insert, table
from apps.members.models import Member
from apps.points.errors import IdempotencyMismatch, InsufficientPoints, NotReversible
from apps.points.locks import (
    accounts_lock,
    accounts_lock_by_id,
    accounts_lock_for_job,
    entry_lock,
    lot_lock,
    lots_lock,
)
from apps.points.lots import lots_draw_down, lots_spendable
from apps.points.models import Account, EarningRule, Entry, JobBatch, Lot, LotUse
from apps.points.rules import expiry_date, take_from_lots
from apps.points.selectors import entry_by_key, entry_once_of_cause


def _account(kind: str, **fields) -> Account:
    """The account of this kind and owner (or part), made when missing (safe if two make it
    at once)."""
    lookup = {"kind": kind, **fields}
    account = Account.objects.filter(**lookup).first()
    if account is None:
        try:
            with transaction.atomic():
                account = Account.objects.create(**lookup)
        except IntegrityError:
            account = Account.objects.get(**lookup)
    return account


def system_account(kind: str, part: int = 0) -> Account:
    """Issuance or pending (one of their parts), or breakage (made by a migration, or here
    if missing)."""
    return _account(kind, part=part)


def member_account(member: Member) -> Account:
    return _account(Account.Kind.MEMBER, member=member)


def store_account(store) -> Account:
    """The account that receives the points members spend at `store` (for settlement)."""
    return _account(Account.Kind.STORE, store=store)


def ledger_write(function):  # for points_earn and points_redeem, keyword-only
    """One transaction per use case, and what makes a retried write idempotent: the entry's
    key, or the cause of one that writes once, is unique, so a second write fails on insert
    and rolls back, and the first entry is returned instead (or idempotency_conflict if it
    meant another transfer). An order's cause used again fails: its writers ask first.

    With `savepoint=False` the write joins a caller that gives up its whole transaction on
    any error (a checkout, which has idempotency of its own): no savepoint round trips while
    the shared accounts are locked, and a key or a cause used before fails the caller
    instead."""

    @functools.wraps(function)
    def wrapper(*args, savepoint: bool = True, **kwargs):
        if not savepoint:
            with transaction.atomic(savepoint=False):
                return function(*args, **kwargs)
        try:
            with transaction.atomic():
                return function(*args, **kwargs)
        except IntegrityError:
            first = _written_before(**kwargs)
            if first is None:
                raise
            # A replay returns the first entry, anything else conflicts.
            return _same(first, member_id=kwargs["member"].pk, amount=kwargs["amount"])

    return wrapper


def _written_before(
    *, member: Member, cause_kind: str, cause_id=None, key=None, rule=None, **_
) -> Entry | None:
    """The entry a write with these arguments wrote before: by its key, or by its cause if
    that writes once."""
    if key is not None:
        return entry_by_key(key)
    rule_id = rule.pk if rule is not None else None
    return entry_once_of_cause(cause_kind, cause_id, member_id=member.pk, rule_id=rule_id)


def _replay(key: str | None, **expected) -> Entry | None:
    return _same(entry_by_key(key) if key is not None else None, **expected)


def _same(entry: Entry | None, **expected) -> Entry | None:
    """`entry`, written before, if it is what a write expecting `expected` would have written."""
    if entry is not None and any(
        getattr(entry, field) != value for field, value in expected.items()
    ):
        raise IdempotencyMismatch()
    return entry


def _move(
    *,
    kind,
    source: Account,
    target: Account,
    amount: int,
    member,
    key,
    cause_kind,
    cause_id,
    description,
    actor=None,
    reverses=None,
    rule=None,
) -> Entry:
    """The transfer itself: both balances and the entry in one statement. The caller holds
    the locks of both accounts."""
    entry = Entry(
        kind=kind,
        from_account=source,
        to_account=target,
        amount=amount,
        member=member,
        idempotency_key=key,
        cause_kind=cause_kind,
        cause_id=cause_id,
        rule=rule,
        description=description[:200],
        reverses=reverses,
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
        created_at=timezone.now(),
    )
    if not balances_move(entry):  # never silently: the caller locked both
        raise Account.DoesNotExist(f"accounts {source.pk} and {target.pk} are gone")
    return entry


_BALANCE, _ACCOUNT_ID = column(Account, "balance"), column(Account, "pk")
_BALANCES_SQL = (
    f"UPDATE {table(Account)} SET {_BALANCE} = {_BALANCE} + "
    f"CASE WHEN {_ACCOUNT_ID} = %s THEN %s ELSE %s END "
    f"WHERE {_ACCOUNT_ID} IN (%s, %s) RETURNING {_ACCOUNT_ID}"
)


def balances_move(entry: Entry) -> bool:
    """Insert the unsaved `entry` and move its points from its from_account's balance to its
    to_account's, in one statement: the entry goes in only if the balances moved, and if it
    fails they move back. False if the accounts are gone. The caller holds both locks."""
    source = entry.from_account_id
    moves = [source, -entry.amount, entry.amount, source, entry.to_account_id]
    insert = insert_statement(Entry, only_if="moved")
    database = connections[insert.using]
    if database.vendor != "postgresql":  # the embedded SQLite: one after the other
        with transaction.atomic(using=insert.using), database.cursor() as cursor:
            cursor.execute(_BALANCES_SQL, moves)
            return bool(cursor.fetchall()) and row_insert(entry)
    with database.cursor() as cursor:
        cursor.execute(
            f"WITH moved AS ({_BALANCES_SQL}) {insert.sql}", moves + insert.params(entry)
        )
        return insert.saved(entry, cursor.fetchone())


@ledger_write
def points_earn(
    *,
    member: Member,
    amount: int,
    cause_kind: str,
    cause_id: int | None = None,
    key: str | None = None,
    rule: EarningRule | None = None,
    description: str,
    pending: bool = True,
    kind: str = Entry.Kind.EARN,
    actor=None,
    now: datetime | None = None,
    part: int | None = None,
) -> Entry:
    """Give a member points, pending for the return window unless `pending` is False;
    `rule` is the earning rule of an event's bonus. From the member's part of issuance
    (and pending), or `part`: a transaction that gives several members points passes 0, the
    jobs' part, so that it holds one part only, and two of them never take two parts in
    opposite orders."""
    if amount <= 0:
        raise ValueError("points to earn must be positive")
    now = now or timezone.now()
    part = Account.part_of(member.pk) if part is None else part
    if pending:
        locked = accounts_lock(kinds=(Account.Kind.ISSUANCE, Account.Kind.PENDING), part=part)
        target = locked[Account.Kind.PENDING]
    else:
        locked = accounts_lock(member, kinds=(Account.Kind.ISSUANCE,), part=part)
        target = locked["member"]
    entry = _move(
        kind=kind,
        source=locked[Account.Kind.ISSUANCE],
        target=target,
        amount=amount,
        member=member,
        key=key,
        cause_kind=cause_kind,
        cause_id=cause_id,
        rule=rule,
        description=description,
        actor=actor,
    )
    row_insert(
        Lot(
            member_id=member.pk,
            entry_id=entry.pk,
            amount=amount,
            remaining=amount,
            status=Lot.Status.PENDING if pending else Lot.Status.AVAILABLE,
            expires_on=expiry_date(timezone.localdate(now), settings.POINTS_EXPIRY),
            matures_at=now + timedelta(days=settings.POINTS_PENDING_DAYS) if pending else None,
        )
    )
    return entry


@ledger_write
def points_redeem(
    *,
    member: Member,
    amount: int,
    cause_kind: str,
    cause_id: int | None = None,
    key: str | None = None,
    description: str,
    store=None,
    kind: str = Entry.Kind.REDEEM,
    actor=None,
) -> Entry:
    """Take available points from a member, soonest-expiring first. Into the store's account
    when spent at a store (for settlement), else back to issuance."""
    if amount <= 0:
        raise ValueError("points to redeem must be positive")
    if store is None:
        locked = accounts_lock(
            member, kinds=(Account.Kind.ISSUANCE,), part=Account.part_of(member.pk)
        )
        target = locked[Account.Kind.ISSUANCE]
    else:
        locked = accounts_lock(member, store=store)
        target = locked["store"]
    source = locked["member"]
    if source.balance < amount:
        # A retry of a redemption that went through finds the points already gone.
        if (entry := _replay(key, member_id=member.pk, amount=amount)) is not None:
            return entry
        raise InsufficientPoints(available=source.balance, wanted=amount)
    entry = _move(
        kind=kind,
        source=source,
        target=target,
        amount=amount,
        member=member,
        key=key,
        cause_kind=cause_kind,
        cause_id=cause_id,
        description=description,
        actor=actor,
    )
    taken = take_from_lots(lots_spendable(member.pk), amount)
    lots_draw_down([(entry.pk, lot_id, part) for lot_id, part in taken])
    return entry


def points_adjust(*, member: Member, amount: int, reason: str, actor, key: str) -> Entry:
    """HQ adds (amount > 0) or removes (amount < 0) points by hand; audited. The console
    comes here through apps.points.manual, which caps it and asks for a second approver."""
    if amount == 0:
        raise ValueError("an adjustment moves some points")
    if (entry := _replay(key, member_id=member.pk, amount=abs(amount))) is not None:
        return entry  # the same form sent twice
    with transaction.atomic():
        description = f"积分调整：{reason}"
        if amount > 0:
            entry = points_earn(
                member=member,
                amount=amount,
                key=key,
                cause_kind=Entry.CauseKind.ADMIN,
                description=description,
                pending=False,
                kind=Entry.Kind.ADJUST,
                actor=actor,
            )
        else:
            entry = points_redeem(
                member=member,
                amount=-amount,
                key=key,
                cause_kind=Entry.CauseKind.ADMIN,
                description=description,
                kind=Entry.Kind.ADJUST,
                actor=actor,
            )
        audit_record(
            actor=actor,
            action="points.adjust",
            target=member,
            after={"points": amount},
            reason=reason,
        )
    return entry


@transaction.atomic
def points_reverse(
    *,
    entry: Entry,
    cause_kind: str,
    cause_id: int | None = None,
    key: str | None = None,
    description: str,
    amount: int | None = None,
    actor=None,
) -> tuple[Entry | None, int]:
    """Undo an earn or a redemption, wholly or in part (a return, a cancelled order, a partial
    refund). `amount` defaults to what is not yet reversed. Returns the reversing entry and
    the points that could not be taken back because the member already spent them. A cause
    reverses an entry once: again, by its key or (without one) by its cause, it returns the
    first reversal."""
    if key is not None:
        replayed = _replay(key)
    else:
        replayed = Entry.objects.filter(
            cause_kind=cause_kind, cause_id=cause_id, reverses=entry
        ).first()
    if replayed is not None:
        return replayed, (entry.amount if amount is None else amount) - replayed.amount
    if entry.kind not in (Entry.Kind.EARN, Entry.Kind.REDEEM):
        raise NotReversible()
    entry = entry_lock(entry)  # one reversal at a time
    open_amount = entry.amount - (entry.reversals.aggregate(total=Sum("amount"))["total"] or 0)
    amount = open_amount if amount is None else amount
    if amount <= 0 or amount > open_amount:
        raise NotReversible()
    cause = {"key": key, "cause_kind": cause_kind, "cause_id": cause_id}
    if entry.kind == Entry.Kind.EARN:
        return _reverse_earn(entry, amount, cause, description, actor)
    return _reverse_redeem(entry, amount, cause, description, actor), 0


def _reverse_redeem(entry: Entry, amount: int, cause: dict, description, actor) -> Entry:
    """Points spent come back to the lots they came from, latest-expiring first, and to the
    member who holds those lots now: the entry's, or the one they were merged into since. A
    merge moves a member's lots while it holds their account, so once the holder's account is
    locked and its member still holds the lots, no merge moves them from under this."""
    owner, still_used = _lots_still_used(entry)
    while True:
        holder = _account(Account.Kind.MEMBER, member_id=owner)
        locked = accounts_lock_by_id(holder, entry.to_account)
        owner_now, still_used = _lots_still_used(entry)
        if owner_now == owner:
            break
        owner = owner_now  # merged meanwhile
    back = _move(
        kind=Entry.Kind.REVERSE,
        source=locked[entry.to_account_id],
        target=locked[holder.pk],
        amount=amount,
        member=entry.member if owner == entry.member_id else holder.member,
        **cause,
        description=description,
        actor=actor,
        reverses=entry,
    )
    returns = take_from_lots(
        [(lot[1], used) for lot, used in sorted(still_used.items(), reverse=True) if used > 0],
        amount,
    )
    # An expired lot gets its points back too; the next expiry run takes them again.
    lots_draw_down(
        [(back.pk, lot_id, -part) for lot_id, part in returns], status=Lot.Status.AVAILABLE
    )
    return back


def _lots_still_used(entry: Entry) -> tuple[int, dict[tuple, int]]:
    """Who holds the lots a redemption spent from (one member: a merge moves all of a
    member's lots; the entry's member if it spent none), and the points each lot has not had
    back yet: {(expires on, lot id): points}."""
    owners, still_used = set(), defaultdict(int)
    for expires_on, lot_id, owner, used in LotUse.objects.filter(
        Q(entry=entry) | Q(entry__reverses=entry)
    ).values_list("lot__expires_on", "lot_id", "lot__member_id", "amount"):
        owners.add(owner)
        still_used[expires_on, lot_id] += used
    return min(owners, default=entry.member_id), still_used


def _reverse_earn(
    entry: Entry, amount: int, cause: dict, description: str, actor
) -> tuple[Entry | None, int]:
    """The points go back to the part of issuance they came from, out of the part of pending
    that holds them or, once available, the account of the member who owns the lot now.
    Which of the two is known only once the lot is locked: the nightly job may settle it
    between the read and the locks, so a pending lot's member account is locked too."""
    lot = entry.lot
    owner = lot.member  # the entry's member, or the one they were merged into since
    holders = [member_account(owner)]
    if lot.status == Lot.Status.PENDING:
        # settling the lot needs this part of pending, held from here on: its state below holds
        holders.append(entry.to_account)
    locked = accounts_lock_by_id(*holders, entry.from_account)
    lot = lot_lock(lot)
    holder = entry.to_account if lot.status == Lot.Status.PENDING else holders[0]
    left = lot.remaining if lot.status in (Lot.Status.PENDING, Lot.Status.AVAILABLE) else 0
    back_amount = min(amount, left)
    if back_amount == 0:
        return None, amount
    back = _move(
        kind=Entry.Kind.REVERSE,
        source=locked[holder.pk],
        target=locked[entry.from_account_id],
        amount=back_amount,
        member=owner,
        **cause,
        description=description,
        actor=actor,
        reverses=entry,
    )
    emptied = lot.remaining == back_amount and lot.status == Lot.Status.PENDING
    lots_draw_down([(back.pk, lot.pk, back_amount)], status=Lot.Status.VOID if emptied else None)
    return back, amount - back_amount


def points_earn_together(
    *,
    member_ids: list[int],
    amount: int,
    cause_kind: str,
    cause_id: int,
    keys: list[str],
    description: str,
    now: datetime,
) -> dict[int, int]:
    """Give each member `amount` points at once, available now, as a job gives them (a
    campaign's chunk): one entry each, under its key (`keys`, in the members' order), and
    its lot; the accounts locked as a job's batch (issuance's part 0, then the members'),
    each balance moved once. The caller's own record (a grant) makes a rerun give nothing twice;
    a key used before fails the whole write. Returns {member id: entry id}."""
    if amount <= 0:
        raise ValueError("points to earn must be positive")
    if not member_ids:
        return {}
    Account.objects.bulk_create(
        [Account(kind=Account.Kind.MEMBER, member_id=m) for m in member_ids], ignore_conflicts=True
    )
    issuance = system_account(Account.Kind.ISSUANCE)
    accounts = accounts_lock_for_job([issuance], member_ids)
    entries = dict(
        rows_insert(
            Entry,
            [
                {
                    "kind": Entry.Kind.EARN,
                    "from_account_id": issuance.pk,
                    "to_account_id": accounts[member_id],
                    "amount": amount,
                    "member_id": member_id,
                    "idempotency_key": key,
                    "cause_kind": cause_kind,
                    "cause_id": cause_id,
                    "description": description[:200],
                    "created_at": now,
                }
                for member_id, key in zip(member_ids, keys, strict=True)
            ],
            returning=("member_id", "pk"),
        )
    )
    expires_on = expiry_date(timezone.localdate(now), settings.POINTS_EXPIRY)
    rows_insert(
        Lot,
        [
            {
                "member_id": member_id,
                "entry_id": entry_id,
                "amount": amount,
                "remaining": amount,
                "status": Lot.Status.AVAILABLE,
                "expires_on": expires_on,
                "matures_at": None,
            }
            for member_id, entry_id in entries.items()
        ],
    )
    Account.objects.filter(pk__any=[accounts[m] for m in member_ids]).update(
        balance=F("balance") + amount
    )
    Account.objects.filter(pk=issuance.pk).update(balance=F("balance") - amount * len(entries))
    return entries


# Scheduled jobs: set-based, in batches, each batch one transaction, safe to run again.


# The most lots one of settling's transactions takes out of a part of pending: it holds that
# part while it runs, and every till selling to a member of the part waits for it.
SETTLE_HOLD = 200


def points_mature_due(*, now: datetime | None = None, batch: int = 5000) -> int:
    """Pending points whose return window has passed become available to spend.

    Read `batch` due lots at a time, then settled a part of pending at a time, at most
    SETTLE_HOLD lots a transaction. Settling runs every ten minutes through the day, on the
    sales of a week before at the same hour: a transaction over all the parts at once held
    every part 0.8 s for 5,000 lots, and every till waited."""
    now = now or timezone.now()
    matured = 0
    while True:
        due = list(
            Lot.objects.filter(status=Lot.Status.PENDING, matures_at__lte=now)
            .order_by("pk")
            .values_list("pk", "member_id", "entry__to_account_id")[:batch]
        )
        if not due:
            return matured
        by_part = defaultdict(list)
        for lot in due:
            by_part[lot[2]].append(lot)
        for lots in by_part.values():
            for start in range(0, len(lots), SETTLE_HOLD):
                with transaction.atomic():  # what another run settled meanwhile is left out
                    matured += _settle(lots[start : start + SETTLE_HOLD], now)


def _settle(due: list[tuple[int, int, int]], now: datetime) -> int:
    """Lots of one part of pending ((id, member id, that part) each) out of it: one entry
    per member. Those another run settled meanwhile are left out."""
    part = due[0][2]
    member_ids = {member_id for _lot, member_id, _part in due}
    Account.objects.bulk_create(
        [Account(kind=Account.Kind.MEMBER, member_id=m) for m in member_ids], ignore_conflicts=True
    )
    accounts = accounts_lock_for_job([Account.objects.get(pk=part)], member_ids)
    lots = lots_lock([lot for lot, _member, _part in due], status=Lot.Status.PENDING)
    amounts: dict[int, int] = defaultdict(int)
    for _lot, member_id, remaining in lots:
        amounts[member_id] += remaining
    if amounts:
        _job_transfers(
            accounts, part, Entry.Kind.SETTLE, amounts, description="积分已到账", now=now
        )
    Lot.objects.filter(pk__any=[lot for lot, _m, _r in lots]).update(status=Lot.Status.AVAILABLE)
    return len(lots)


def points_expire_due(*, today=None, batch: int = 5000) -> int:
    """Unspent points of lots past their date go to breakage, one entry per member."""
    today = today or timezone.localdate()
    expired, after = 0, 0
    while True:
        with transaction.atomic():
            # Each batch starts past the last one's members: starting from the first member
            # again would walk every batch before it, and the job would slow as it went.
            member_ids = list(
                Lot.objects.filter(
                    status=Lot.Status.AVAILABLE, expires_on__lt=today, member_id__gt=after
                )
                .order_by("member_id")
                .values_list("member_id", flat=True)
                .distinct()[:batch]
            )
            if not member_ids:
                return expired
            expired += _expire_members(member_ids, today)
        after = member_ids[-1]


def _expire_members(member_ids: list[int], today) -> int:
    breakage = system_account(Account.Kind.BREAKAGE)
    accounts = accounts_lock_for_job([breakage], member_ids)
    lots = list(
        Lot.objects.filter(
            member_id__any=member_ids, status=Lot.Status.AVAILABLE, expires_on__lt=today
        ).values_list("pk", "member_id", "remaining")
    )
    amounts: dict[int, int] = defaultdict(int)
    for _lot, member_id, remaining in lots:
        amounts[member_id] += remaining
    now = timezone.now()
    entries = _job_transfers(
        accounts, breakage.pk, Entry.Kind.EXPIRE, amounts, description="积分过期", now=now
    )
    lots_draw_down(
        [(entries.get(member_id), lot, remaining) for lot, member_id, remaining in lots],
        status=Lot.Status.EXPIRED,
    )
    return sum(amounts.values())


def _job_transfers(
    accounts: dict[int, int],
    system: int,
    kind: str,
    amounts: dict[int, int],
    *,
    description: str,
    now: datetime,
) -> dict[int, int]:
    """A batch's entries, one per member, between the members' accounts and the system
    account `system`, all locked by `accounts_lock_for_job`: {member id: entry id}. Their
    cause is the batch. Every balance moves in one UPDATE. Settling pays members out of a
    part of pending; expiring takes from members into breakage. What makes a rerun safe is
    the state of the lots the caller changes in the same transaction."""
    to_members = kind == Entry.Kind.SETTLE
    cause_kind = Entry.CauseKind.MATURITY if to_members else Entry.CauseKind.EXPIRY
    amounts = {member_id: amount for member_id, amount in amounts.items() if amount > 0}
    batch = JobBatch.objects.create(kind=cause_kind, created_at=now)
    entries = rows_insert(
        Entry,
        [
            {
                "kind": kind,
                "from_account_id": system if to_members else accounts[member_id],
                "to_account_id": accounts[member_id] if to_members else system,
                "amount": amount,
                "member_id": member_id,
                "cause_kind": cause_kind,
                "cause_id": batch.pk,
                "description": description,
                "created_at": now,
            }
            for member_id, amount in amounts.items()
        ],
        returning=("member_id", "pk"),
    )
    moved = Entry.objects.filter(
        cause_kind=cause_kind, cause_id=batch.pk, member_id=OuterRef("member_id")
    ).values("amount")
    sign = 1 if to_members else -1
    Account.objects.filter(member_id__any=list(amounts)).update(
        balance=F("balance") + sign * Subquery(moved)
    )
    Account.objects.filter(pk=system).update(balance=F("balance") - sign * sum(amounts.values()))
    return dict(entries)


@transaction.atomic
def points_merge_members(*, survivor: Member, merged: Member) -> None:
    """Two members became one: the merged one's balance and lots move to the survivor, once."""
    source, target = member_account(merged), member_account(survivor)
    locked = accounts_lock_by_id(source, target)
    balance = locked[source.pk].balance
    if balance and not entry_once_of_cause(Entry.CauseKind.MERGE, merged.pk, member_id=survivor.pk):
        _move(
            kind=Entry.Kind.MERGE,
            source=locked[source.pk],
            target=locked[target.pk],
            amount=balance,
            member=survivor,
            key=None,
            cause_kind=Entry.CauseKind.MERGE,
            cause_id=merged.pk,
            description="会员合并转入积分",
        )
    Lot.objects.filter(member=merged).update(member=survivor)

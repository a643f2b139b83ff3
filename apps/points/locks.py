"""The row locks of the points ledger. Every write takes them in this one order, so no two
transactions ever wait on each other in a circle:

1. the entry being reversed (`entry_lock`): one reversal of an entry at a time;
2. the accounts the write moves points between, all in one statement: the system accounts
   (the parts of issuance and pending, breakage) first, then the members', the stores' and
   the distributors', each group in primary-key order (`accounts_lock`, `accounts_lock_by_id`,
   `accounts_lock_for_job`) — the order of the checkout (apps/orders/checkout.py): "the
   member's parts of the ledger's issuance and pending accounts, the member's and the
   store's accounts";
3. the lots, in primary-key order (`lot_lock`, `lots_lock`).

The checkout takes the member row before all of these (apps.points.earning).

Written by hand: every earn and redemption locks its accounts, and the ORM took longer to
compile the query than the database to answer it."""

from django.db import connections

from apps.core.rows import column, columns, database_for_write, instance, table
from apps.points.models import Account, Entry, Lot

_ID, _KIND, _PART = column(Account, "pk"), column(Account, "kind"), column(Account, "part")
_OWNED = " AND ".join(
    f"a.{column(Account, owner)} IS NULL" for owner in ("member", "store", "distributor")
)


def _locked(conditions: list[str], params: list) -> list[Account]:
    """The accounts that meet any of `conditions`, locked: the system accounts first."""
    using = database_for_write(Account)
    database = connections[using]
    lock = " FOR UPDATE" if database.features.has_select_for_update else ""
    with database.cursor() as cursor:
        cursor.execute(
            f"SELECT {columns(Account, 'a')} FROM {table(Account)} a "
            f"WHERE {' OR '.join(conditions)} ORDER BY ({_OWNED}) DESC, a.{_ID}{lock}",
            params,
        )
        return [instance(Account, row, using) for row in cursor.fetchall()]


def _listed(name: str, values: list) -> str:
    return f"a.{name} IN ({', '.join(['%s'] * len(values))})"


def accounts_lock(member=None, *, kinds: tuple[str, ...] = (), part: int = 0, store=None) -> dict:
    """The member's account, the named system accounts (their `part`) and the store's
    account, locked: {"member" | kind | "store": account}. Makes what is missing first."""
    conditions, params = [], []
    if kinds:
        conditions.append(f"({_listed(_KIND, kinds)} AND a.{_PART} = %s)")
        params += [*kinds, part]
    if member:
        conditions.append(f"a.{column(Account, 'member')} = %s")
        params.append(member.pk)
    if store:
        conditions.append(f"(a.{_KIND} = %s AND a.{column(Account, 'store')} = %s)")
        params += [Account.Kind.STORE, store.pk]
    locked: dict = {}
    for row in _locked(conditions, params):
        if row.kind in kinds:
            locked[row.kind] = row
        if member and row.member_id == member.pk:
            locked["member"] = row
        if store and row.kind == Account.Kind.STORE and row.store_id == store.pk:
            locked["store"] = row
    if len(locked) < len(kinds) + bool(member) + bool(store):
        missing = [Account(kind=kind, part=part) for kind in set(kinds) - set(locked)]
        if member and "member" not in locked:
            missing.append(Account(kind=Account.Kind.MEMBER, member=member))
        if store and "store" not in locked:
            missing.append(Account(kind=Account.Kind.STORE, store=store))
        # another transaction may be making the same ones: theirs stand
        Account.objects.bulk_create(missing, ignore_conflicts=True)
        return accounts_lock(member, kinds=kinds, part=part, store=store)
    return locked


def accounts_lock_by_id(*accounts: Account) -> dict[int, Account]:
    """These accounts, locked: {id: fresh row}."""
    ids = sorted({account.pk for account in accounts})
    return {account.pk: account for account in _locked([_listed(_ID, ids)], ids)}


def accounts_lock_for_job(systems: list[Account], member_ids) -> dict[int, int]:
    """A job's batch: its system accounts and the members' accounts, locked in one
    statement: {member id: account id}."""
    member_ids = list(member_ids)
    if connections[database_for_write(Account)].vendor == "postgresql":
        # a batch's thousands of ids as one array, not as thousands of parameters
        members, params = (
            f"a.{column(Account, 'member')} = ANY(%s::bigint[])",
            ["{" + ",".join(map(str, member_ids)) + "}"],
        )
    else:
        members, params = _listed(column(Account, "member"), member_ids), member_ids
    system_ids = [system.pk for system in systems]
    rows = _locked([_listed(_ID, system_ids), members], [*system_ids, *params])
    return {row.member_id: row.pk for row in rows if row.member_id}


def entry_lock(entry: Entry) -> Entry:
    return Entry.objects.select_for_update().get(pk=entry.pk)


def lot_lock(lot: Lot) -> Lot:
    return Lot.objects.select_for_update().get(pk=lot.pk)


def lots_lock(ids, *, status: str) -> list[tuple[int, int, int]]:
    """The lots of `ids` still in `status`, locked: (id, member id, remaining) each."""
    return list(
        Lot.objects.select_for_update()
        .filter(pk__any=list(ids), status=status)
        .order_by("pk")
        .values_list("pk", "member_id", "remaining")
    )

"""The row locks of the points ledger. Every write takes them in this one order, so no two
transactions ever wait on each other in a circle:

1. the entry being reversed (`entry_lock`): one reversal of an entry at a time;
2. the accounts the write moves points between, all in one statement, in primary-key order
   (`accounts_lock`, `accounts_lock_by_id`, `accounts_lock_for_job`). The system accounts
   (issuance, pending, breakage) are made first, by a migration, so they come before the
   members' and the stores' accounts — the order of the checkout (apps/orders/checkout.py):
   "the ledger's issuance and pending accounts, the member's and the store's accounts";
3. the lots, in primary-key order (`lot_lock`, `lots_lock`).

The checkout takes the member row before all of these (apps.points.earning).

Written by hand: every earn and redemption locks its accounts, and the ORM took longer to
compile the query than the database to answer it."""

from django.db import connections

from apps.core.rows import column, columns, database_for_write, instance, table
from apps.points.models import Account, Entry, Lot

_ID, _KIND = column(Account, "pk"), column(Account, "kind")


def _locked(conditions: list[str], params: list) -> list[Account]:
    """The accounts that meet any of `conditions`, locked in primary-key order."""
    using = database_for_write(Account)
    database = connections[using]
    lock = " FOR UPDATE" if database.features.has_select_for_update else ""
    with database.cursor() as cursor:
        cursor.execute(
            f"SELECT {columns(Account, 'a')} FROM {table(Account)} a "
            f"WHERE {' OR '.join(conditions)} ORDER BY a.{_ID}{lock}",
            params,
        )
        return [instance(Account, row, using) for row in cursor.fetchall()]


def _listed(name: str, values: list) -> str:
    return f"a.{name} IN ({', '.join(['%s'] * len(values))})"


def accounts_lock(member=None, *, kinds: tuple[str, ...] = (), store=None) -> dict:
    """The member's account, the named system accounts and the store's account, locked:
    {"member" | kind | "store": account}. Makes what is missing first."""
    conditions, params = [], []
    if kinds:
        conditions.append(_listed(_KIND, kinds))
        params += kinds
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
        missing = [Account(kind=kind) for kind in set(kinds) - set(locked)]
        if member and "member" not in locked:
            missing.append(Account(kind=Account.Kind.MEMBER, member=member))
        if store and "store" not in locked:
            missing.append(Account(kind=Account.Kind.STORE, store=store))
        # another transaction may be making the same ones: theirs stand
        Account.objects.bulk_create(missing, ignore_conflicts=True)
        return accounts_lock(member, kinds=kinds, store=store)
    return locked


def accounts_lock_by_id(*accounts: Account) -> dict[int, Account]:
    """These accounts, locked: {id: fresh row}."""
    ids = sorted({account.pk for account in accounts})
    return {account.pk: account for account in _locked([_listed(_ID, ids)], ids)}


def accounts_lock_for_job(system: Account, member_ids) -> dict:
    """A job's batch: its system account and the members' accounts, locked in one statement:
    {member id: account id, system kind: account id}."""
    member_ids = list(member_ids)
    if connections[database_for_write(Account)].vendor == "postgresql":
        # a batch's thousands of ids as one array, not as thousands of parameters
        members, params = (
            f"a.{column(Account, 'member')} = ANY(%s::bigint[])",
            ["{" + ",".join(map(str, member_ids)) + "}"],
        )
    else:
        members, params = _listed(column(Account, "member"), member_ids), member_ids
    rows = _locked([f"a.{_ID} = %s", members], [system.pk, *params])
    return {row.member_id or row.kind: row.pk for row in rows}


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

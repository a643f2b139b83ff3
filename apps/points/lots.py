"""What entries take from the lots of points a member holds (and give back). Every change of
a lot's remaining points goes through `lots_draw_down`, which records it as the entry's use
of the lot in the same statement: a lot's remaining = its amount − the sum of its uses."""

from django.db import connections, transaction
from django.db.models import F

from apps.core.rows import column, database_for_read, database_for_write, table
from apps.points.models import Lot, LotUse

_LOT_ID, _REMAINING = column(Lot, "pk"), column(Lot, "remaining")
_STATUS = column(Lot, "status")

_SPENDABLE_SQL = (
    f"SELECT {_LOT_ID}, {_REMAINING} FROM {table(Lot)} "
    f"WHERE {column(Lot, 'member')} = %s AND {_STATUS} = %s AND {_REMAINING} > 0 "
    f"ORDER BY {column(Lot, 'expires_on')}, {_LOT_ID}"
)

# The uses travel as three arrays, so the statement is the same for any number of lots (a
# prepared statement) and a nightly batch of thousands is three parameters.
_DRAW_DOWN_SQL = (
    f"WITH drawn AS (UPDATE {table(Lot)} l SET {_REMAINING} = l.{_REMAINING} - t.amount, "
    f"{_STATUS} = COALESCE(%s::varchar, l.{_STATUS}) "
    "FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[]) AS t(entry_id, lot_id, amount) "
    f"WHERE l.{_LOT_ID} = t.lot_id RETURNING t.entry_id, t.lot_id, t.amount) "
    f"INSERT INTO {table(LotUse)} ({column(LotUse, 'entry')}, {column(LotUse, 'lot')}, "
    f"{column(LotUse, 'amount')}) SELECT entry_id, lot_id, amount FROM drawn WHERE amount <> 0"
)


def lots_spendable(member_id: int) -> list[tuple[int, int]]:
    """The member's available lots as (id, remaining), in spending order: soonest-expiring
    first. The caller holds the member's account lock."""
    with connections[database_for_read(Lot)].cursor() as cursor:
        cursor.execute(_SPENDABLE_SQL, [member_id, Lot.Status.AVAILABLE])
        return cursor.fetchall()


def lots_draw_down(uses: list[tuple[int | None, int, int]], *, status: str | None = None):
    """For each (entry id, lot id, amount) of `uses`, the entry takes `amount` from the lot (a
    negative amount gives points back), recorded as its use of the lot; a use of 0 (no entry
    needed) changes only the lot's status. With `status`, the lots take it. One statement
    on PostgreSQL."""
    if not uses:
        return
    using = database_for_write(Lot)
    database = connections[using]
    if database.vendor != "postgresql":  # the embedded SQLite
        with transaction.atomic(using=using):
            LotUse.objects.using(using).bulk_create(
                LotUse(entry_id=entry_id, lot_id=lot_id, amount=amount)
                for entry_id, lot_id, amount in uses
                if amount
            )
            changes = {"status": status} if status else {}
            for _entry_id, lot_id, amount in uses:
                Lot.objects.using(using).filter(pk=lot_id).update(
                    remaining=F("remaining") - amount, **changes
                )
        return
    with database.cursor() as cursor:
        cursor.execute(
            _DRAW_DOWN_SQL,
            [status, *(_array(column) for column in zip(*uses, strict=True))],
        )


def _array(values) -> str:
    """Whole numbers as one array literal: psycopg would quote a list element by element."""
    return "{" + ",".join("NULL" if value is None else str(value) for value in values) + "}"

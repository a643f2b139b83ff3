from datetime import timedelta

from django.db import connections
from django.db.models import Sum
from django.utils import timezone

from apps.core.rows import column, columns, database_for_read, instance, table
from apps.members.models import Member
from apps.points.models import ONCE_PER_CAUSE, ONCE_PER_MEMBER, ONCE_PER_RULE, Account, Entry, Lot

_AVAILABLE_SQL = (
    f"SELECT {column(Account, 'balance')} FROM {table(Account)} "
    f"WHERE {column(Account, 'member')} = %s"
)
_ENTRY_BY_KEY_SQL = (
    f"SELECT {columns(Entry, 'e')} FROM {table(Entry)} e "
    f"WHERE e.{column(Entry, 'idempotency_key')} = %s"
)
_ENTRY_BY_CAUSE_SQL = (
    f"SELECT {columns(Entry, 'e')} FROM {table(Entry)} e "
    f"WHERE e.{column(Entry, 'cause_kind')} = %s AND e.{column(Entry, 'cause_id')} = %s "
    f"AND e.{column(Entry, 'kind')} = %s AND e.{column(Entry, 'reverses')} IS NULL"
)


def points_available(member: Member) -> int:
    with connections[database_for_read(Account)].cursor() as cursor:
        cursor.execute(_AVAILABLE_SQL, [member.pk])
        row = cursor.fetchone()
    return row[0] if row else 0


def entry_by_key(key: str) -> Entry | None:
    """The entry written with this idempotency key, if any (every award asks first)."""
    return _entry_one(_ENTRY_BY_KEY_SQL, [key])


def entry_by_cause(cause_kind: str, cause_id: int, kind: str) -> Entry | None:
    """The entry of this kind an order or a refund caused, if any (not its reversals)."""
    return _entry_one(_ENTRY_BY_CAUSE_SQL, [cause_kind, cause_id, kind])


def entry_once_of_cause(
    cause_kind: str, cause_id: int | None, *, member_id: int, rule_id: int | None = None
) -> Entry | None:
    """The entry a cause that writes once wrote already, if any: an event's bonus for this
    earning rule, an import's or a job batch's entry for this member, a merge's or the
    demo's. None for any other cause (an order's entries: `entry_by_cause`)."""
    if cause_id is None:
        return None
    if cause_kind in ONCE_PER_RULE:
        same = {"rule_id": rule_id}
    elif cause_kind in ONCE_PER_MEMBER:
        same = {"member_id": member_id}
    elif cause_kind in ONCE_PER_CAUSE:
        same = {}
    else:
        return None
    return Entry.objects.filter(cause_kind=cause_kind, cause_id=cause_id, **same).first()


def _entry_one(sql: str, params: list) -> Entry | None:
    using = database_for_read(Entry)
    with connections[using].cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return instance(Entry, row, using) if row else None


def points_totals(member: Member) -> dict:
    """What `me` shows: available, pending and what expires in the next 30 days."""
    today = timezone.localdate()
    lots = Lot.objects.filter(member=member, remaining__gt=0)
    pending = lots.filter(status=Lot.Status.PENDING).aggregate(total=Sum("remaining"))["total"] or 0
    expiring = (
        lots.filter(status=Lot.Status.AVAILABLE, expires_on__lte=today + timedelta(days=30))
        .values("expires_on")
        .annotate(amount=Sum("remaining"))
        .order_by("expires_on")
    )
    return {
        "available": points_available(member),
        "pending": pending,
        "expiring": [
            {"amount": row["amount"], "expires_on": row["expires_on"]} for row in expiring
        ],
    }


def points_history(member: Member):
    """The member's own entries, newest first, as they would read them: settling pending
    points into the account is internal and not listed."""
    return (
        Entry.objects.filter(member=member)
        .exclude(kind=Entry.Kind.SETTLE)
        .select_related("from_account")
    )


def signed_amount(entry: Entry, member: Member) -> int:
    """+ for points coming to the member (available or pending), − for points leaving them."""
    leaving = entry.from_account.member_id == member.pk
    return -entry.amount if leaving else entry.amount

from datetime import timedelta

from django.db.models import Sum
from django.utils import timezone

from apps.core.rows import columns, instance, row_one
from apps.members.models import Member
from apps.points.models import Account, Entry, Lot


def points_available(member: Member) -> int:
    row = row_one(f"SELECT balance FROM {Account._meta.db_table} WHERE member_id = %s", [member.pk])
    return row[0] if row else 0


def entry_by_key(key: str) -> Entry | None:
    """The entry written with this idempotency key, if any (every award asks first)."""
    row = row_one(
        f"SELECT {columns(Entry, 'e')} FROM {Entry._meta.db_table} e WHERE e.idempotency_key = %s",
        [key],
    )
    return instance(Entry, row) if row else None


def entry_by_cause(cause_kind: str, cause_id: int, kind: str) -> Entry | None:
    """The entry of this kind an order or a refund caused, if any (not its reversals)."""
    row = row_one(
        f"SELECT {columns(Entry, 'e')} FROM {Entry._meta.db_table} e WHERE e.cause_kind = %s "
        "AND e.cause_id = %s AND e.kind = %s AND e.reverses_id IS NULL",
        [cause_kind, cause_id, kind],
    )
    return instance(Entry, row) if row else None


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

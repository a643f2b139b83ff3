from django.db import connections

from apps.core.rows import column, columns, database_for_read, instance, table
from apps.members.models import Member
from apps.stores.models import Staff, Store
from apps.stores.scoping import AccessScope


def guide_by_code(code: str | None) -> Staff | None:
    if not code:
        return None
    return (
        Staff.objects.select_related("store")
        .filter(guide_code=code.upper(), is_active=True)
        .first()
    )


def guide_code_of(user, store: Store) -> str:
    """The guide code of `user` at `store`, where they work there; else ""."""
    return (
        Staff.objects.filter(user=user, store=store, is_active=True)
        .values_list("guide_code", flat=True)
        .first()
        or ""
    )


def member_by_referral_code(code: str | None) -> Member | None:
    if not code:
        return None
    return Member.objects.filter(referral_code=code.upper(), status=Member.Status.ACTIVE).first()


_ACTIVE_SQL = (
    f"SELECT {columns(Member, 'm')} FROM {table(Member)} m "
    f"WHERE m.{column(Member, 'pk')} = %s AND m.{column(Member, 'status')} = %s"
)


def member_active(member_id: int) -> Member | None:
    """The active member with this id (a till names its member so on every sale)."""
    using = database_for_read(Member)
    with connections[using].cursor() as cursor:
        cursor.execute(_ACTIVE_SQL, [member_id, Member.Status.ACTIVE])
        row = cursor.fetchone()
    return instance(Member, row, using) if row else None


def member_by_phone(phone: str, *, scope: AccessScope | None = None) -> Member | None:
    """The active member with this phone; within `scope`, only one whose home store that
    person may see."""
    members = Member.objects.filter(phone=phone, status=Member.Status.ACTIVE)
    if scope is not None:
        members = scope.filter(members, store_field="home_store")
    return members.first()

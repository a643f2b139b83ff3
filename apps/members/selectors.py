from apps.core.rows import columns, instance, row_one
from apps.members.models import Member
from apps.stores.models import Staff


def guide_by_code(code: str | None) -> Staff | None:
    if not code:
        return None
    return (
        Staff.objects.select_related("store")
        .filter(guide_code=code.upper(), is_active=True)
        .first()
    )


def member_by_referral_code(code: str | None) -> Member | None:
    if not code:
        return None
    return Member.objects.filter(referral_code=code.upper(), status=Member.Status.ACTIVE).first()


def member_active(member_id: int) -> Member | None:
    """The active member with this id (a till names its member so on every sale)."""
    row = row_one(
        f"SELECT {columns(Member, 'm')} FROM {Member._meta.db_table} m "
        "WHERE m.id = %s AND m.status = %s",
        [member_id, Member.Status.ACTIVE],
    )
    return instance(Member, row) if row else None


def member_by_phone(phone: str) -> Member | None:
    return Member.objects.filter(phone=phone, status=Member.Status.ACTIVE).first()

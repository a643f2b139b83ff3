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


def member_by_phone(phone: str) -> Member | None:
    return Member.objects.filter(phone=phone, status=Member.Status.ACTIVE).first()

"""A member's coupons as they download them with their data (PIPL, `me/export`)."""

from apps.coupons.models import Coupon
from apps.members.models import Member


def member_coupons_data(member: Member) -> list[dict]:
    """Every coupon the member was given, in any state, oldest first."""
    coupons = (
        Coupon.objects.filter(member=member)
        .select_related("template", "store", "used_store")
        .order_by("issued_at", "pk")
    )
    return [
        {
            "code": coupon.code,
            "title": coupon.template.name,
            "kind": coupon.template.kind,
            "status": coupon.status,
            "source": coupon.source,
            "store": coupon.store.name if coupon.store else None,
            "issued_at": coupon.issued_at,
            "valid_from": coupon.valid_from,
            "valid_until": coupon.valid_until,
            "used_at": coupon.used_at,
            "used_store": coupon.used_store.name if coupon.used_store else None,
            "discount": coupon.discount,
        }
        for coupon in coupons
    ]

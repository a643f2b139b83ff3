"""What HQ does to coupons from the console: void coupons given by mistake, withdraw
templates. Both audited."""

from django.db import transaction

from apps.core.audit import audit_record
from apps.coupons.models import Coupon, CouponTemplate


@transaction.atomic
def coupons_void(*, coupons, actor) -> int:
    """HQ withdraws coupons given by mistake. Only unused ones still in a wallet are voided;
    a used, held, expired or already void coupon stays as it is. Audited."""
    voided = list(
        Coupon.objects.filter(pk__in=coupons.values("pk"), status=Coupon.Status.AVAILABLE)
        .select_for_update()
        .order_by("pk")
        .values_list("pk", "code")
    )
    Coupon.objects.filter(pk__in=[pk for pk, _code in voided]).update(status=Coupon.Status.VOID)
    if voided:
        audit_record(
            actor=actor, action="coupon.void", after={"codes": [code for _pk, code in voided]}
        )
    return len(voided)


@transaction.atomic
def templates_withdraw(*, templates, actor) -> int:
    """Stop offering templates at once (a drop gone wrong): no more claims, exchanges, gifts
    or automatic issues. Coupons already issued stay usable. Audited."""
    names = list(templates.filter(active=True).order_by("pk").values_list("pk", "name"))
    CouponTemplate.objects.filter(pk__in=[pk for pk, _name in names]).update(active=False)
    if names:
        audit_record(
            actor=actor, action="coupon_template.withdraw", after={"templates": dict(names)}
        )
    return len(names)

"""The coupons' nightly jobs: expire what has ended, remind members of what ends soon."""

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from apps.core.events import events_emit
from apps.coupons.models import Coupon
from apps.coupons.rules import past_date


def coupons_expire_due(*, now=None, batch: int = 5000) -> int:
    """Available coupons past their date become expired, a batch per statement."""
    now = now or timezone.now()
    expired = 0
    while True:
        ids = Coupon.objects.filter(past_date(now)).values_list("pk", flat=True)[:batch]
        done = Coupon.objects.filter(pk__in=list(ids), status=Coupon.Status.AVAILABLE).update(
            status=Coupon.Status.EXPIRED
        )
        expired += done
        if not done:
            return expired


def coupons_remind_expiring(*, now=None, batch: int = 2000) -> int:
    """`coupons_expiring`: one event per member with coupons ending within
    COUPON_REMIND_DAYS, once per coupon (a reminded coupon is marked in the same transaction)."""
    now = now or timezone.now()
    horizon = now + timedelta(days=settings.COUPON_REMIND_DAYS)
    reminded = 0
    while True:
        with transaction.atomic():
            due = list(
                Coupon.objects.select_for_update(skip_locked=True)
                .filter(
                    status=Coupon.Status.AVAILABLE,
                    reminded_at__isnull=True,
                    valid_until__gt=now,
                    valid_until__lte=horizon,
                )
                .order_by("pk")
                .values_list("pk", "member_id", "code", "valid_until")[:batch]
            )
            if not due:
                return reminded
            Coupon.objects.filter(pk__in=[row[0] for row in due]).update(reminded_at=now)
            per_member: dict[int, list] = {}
            for _pk, member_id, code, valid_until in due:
                per_member.setdefault(member_id, []).append(
                    {"code": code, "valid_until": valid_until.isoformat()}
                )
            events_emit(
                name="coupons_expiring",
                payloads=[
                    {"member": member_id, "coupons": coupons}
                    for member_id, coupons in per_member.items()
                ],
            )
            reminded += len(due)

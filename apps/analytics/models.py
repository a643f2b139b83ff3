"""Daily rollups the dashboards read, so that their pages cost the same whatever the data."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from apps.stores.models import Store


def _money(verbose_name):
    return models.DecimalField(verbose_name, max_digits=14, decimal_places=2, default=0)


class DailyStoreRollup(models.Model):
    """One store's day: recomputed whole by the rollup job, so a rerun changes nothing."""

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="+")
    day = models.DateField(_("day"))
    new_members = models.PositiveIntegerField(_("new members"), default=0)
    visits = models.PositiveIntegerField(_("visits"), default=0)
    orders = models.PositiveIntegerField(_("orders"), default=0)
    member_orders = models.PositiveIntegerField(_("orders by members"), default=0)
    sales = _money(_("sales"))
    member_sales = _money(_("sales to members"))
    refunds = _money(_("refunds"))
    coupons_used = models.PositiveIntegerField(_("coupons used"), default=0)
    coupon_sales = _money(_("sales with coupons"))
    points_issued = models.PositiveIntegerField(_("points earned by members"), default=0)
    points_redeemed = models.PositiveIntegerField(_("points spent"), default=0)
    computed_at = models.DateTimeField(_("computed at"), auto_now=True)

    class Meta:
        verbose_name = _("daily store figures")
        verbose_name_plural = _("daily store figures")
        ordering = ["-day", "store"]
        constraints = [
            models.UniqueConstraint(fields=["store", "day"], name="rollup_once_per_store_day")
        ]

    def __str__(self) -> str:
        return f"{self.store_id} {self.day}"

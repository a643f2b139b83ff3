"""Daily rollups the dashboards read, so that their pages cost the same whatever the data."""

from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator
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
    # What HQ watches for stores that print money: points moved by hand for the store's
    # members (adjustments and voids, done or approved) and coupons the store gave away.
    manual_actions = models.PositiveIntegerField(_("manual points actions"), default=0)
    manual_points = models.PositiveIntegerField(_("points moved by hand"), default=0)
    coupons_gifted = models.PositiveIntegerField(_("coupons given by the store"), default=0)
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


class StoreFlagRule(models.Model):
    """When a store's figure stands out from its peers' on the HQ front page: its total
    over the last `days` days (today included) is at least `min_volume` and more than
    `multiple` times the median of every store with figures in those days."""

    class Figure(models.TextChoices):
        POINTS_REDEEMED = "points_redeemed", _("points spent")
        COUPONS_USED = "coupons_used", _("coupons redeemed")
        MANUAL_ACTIONS = "manual_actions", _("manual points actions")
        MANUAL_POINTS = "manual_points", _("points moved by hand")
        COUPONS_GIFTED = "coupons_gifted", _("coupons given by the store")

    figure = models.CharField(_("figure"), max_length=32, choices=Figure, unique=True)
    days = models.PositiveSmallIntegerField(
        _("days"), default=7, validators=[MinValueValidator(1), MaxValueValidator(366)]
    )
    multiple = models.DecimalField(
        _("times the peers' median"),
        max_digits=6,
        decimal_places=2,
        default=Decimal(3),
        validators=[MinValueValidator(Decimal(1))],
    )
    min_volume = models.PositiveIntegerField(
        _("at least"), help_text=_("A store with less than this in those days is never flagged.")
    )
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("store flag rule")
        verbose_name_plural = _("store flag rules")
        ordering = ["figure"]

    def __str__(self) -> str:
        return self.get_figure_display()

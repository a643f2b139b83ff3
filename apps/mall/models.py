"""商品: the catalogue that prices, coupons and earning rules read by SKU and category."""

from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from apps.core.models import TimeStampedModel


class Product(TimeStampedModel):
    sku = models.CharField(_("SKU"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=100)
    category = models.CharField(_("category"), max_length=50, blank=True, db_index=True)
    price = models.DecimalField(_("price (yuan)"), max_digits=12, decimal_places=2)
    member_price = models.DecimalField(
        _("member price (yuan)"),
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        help_text=_("Members pay this instead of their tier discount on this product."),
    )
    members_only = models.BooleanField(_("members only"), default=False)
    active = models.BooleanField(_("on sale"), default=True)

    class Meta:
        verbose_name = _("product")
        verbose_name_plural = _("products")
        ordering = ["sku"]
        constraints = [
            models.CheckConstraint(condition=Q(price__gte=0), name="product_price_not_negative"),
            models.CheckConstraint(
                condition=Q(member_price__isnull=True)
                | Q(member_price__gte=0, member_price__lte=F("price")),
                name="product_member_price_within_price",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.sku} {self.name}"

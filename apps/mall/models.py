"""商品: the catalogue that prices, coupons and earning rules read by SKU and category, the
stock each location holds of it, and what each store's own mall (一店一商城) shows.

A product (SPU) is what a member browses; a SKU is what they buy, priced and stocked on its
own (colour, size). Orders, coupons and earning rules know SKUs and category names only.
"""

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from apps.core.models import TimeStampedModel
from apps.stores.models import Store
from apps.tiers.models import Tier


class Category(models.Model):
    """Two levels: a top category (上衣) and its subcategories (T恤)."""

    name = models.CharField(_("name"), max_length=50)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent category"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
    )
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("category")
        verbose_name_plural = _("categories")
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["name"], condition=Q(parent__isnull=True), name="category_top_name_once"
            ),
            models.UniqueConstraint(fields=["parent", "name"], name="category_name_once"),
        ]

    def __str__(self) -> str:
        return f"{self.parent.name} / {self.name}" if self.parent_id else self.name

    def clean(self):
        if not self.parent_id:
            return
        if (
            self.parent.parent_id
            or self.parent_id == self.pk
            or (self.pk and Category.objects.filter(parent=self.pk).exists())
        ):
            raise ValidationError({"parent": _("Categories have two levels only.")})


class Product(TimeStampedModel):
    """商品 (SPU): what a member browses, with its SKUs."""

    title = models.CharField(_("title"), max_length=100)
    category = models.ForeignKey(
        Category, verbose_name=_("category"), on_delete=models.PROTECT, related_name="products"
    )
    description = models.TextField(_("description"), blank=True)
    image = models.ImageField(_("image"), upload_to="products/", blank=True)
    thumbnail = models.ImageField(_("thumbnail"), upload_to="products/thumbs/", blank=True)
    members_only = models.BooleanField(_("members only"), default=False)
    featured = models.BooleanField(_("featured (爆款)"), default=False)
    on_sale_from = models.DateTimeField(_("on sale from"), null=True, blank=True)
    on_sale_until = models.DateTimeField(_("on sale until"), null=True, blank=True)
    active = models.BooleanField(_("on sale"), default=True)
    everywhere = models.BooleanField(
        _("sold in every store"),
        default=True,
        help_text=_("Otherwise only in the stores listed."),
    )
    stores = models.ManyToManyField(
        Store, verbose_name=_("stores that sell it"), blank=True, related_name="+"
    )
    position = models.PositiveIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("product")
        verbose_name_plural = _("products")
        ordering = ["position", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(on_sale_from__isnull=True)
                | Q(on_sale_until__isnull=True)
                | Q(on_sale_from__lt=F("on_sale_until")),
                name="product_sale_window_ordered",
            ),
        ]

    def __str__(self) -> str:
        return self.title


class Sku(TimeStampedModel):
    """规格: one sellable item of a product, by its specifications (颜色: 红, 尺码: M)."""

    product = models.ForeignKey(
        Product, verbose_name=_("product"), on_delete=models.PROTECT, related_name="skus"
    )
    sku = models.CharField(_("SKU"), max_length=64, unique=True)
    specs = models.JSONField(_("specifications"), default=dict, blank=True)
    price = models.DecimalField(_("price (yuan)"), max_digits=12, decimal_places=2)
    member_price = models.DecimalField(
        _("member price (yuan)"),
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        help_text=_("Members pay this instead of their tier discount on this SKU."),
    )
    active = models.BooleanField(_("on sale"), default=True)

    class Meta:
        verbose_name = _("SKU")
        verbose_name_plural = _("SKUs")
        ordering = ["sku"]
        constraints = [
            models.CheckConstraint(condition=Q(price__gte=0), name="sku_price_not_negative"),
            models.CheckConstraint(
                condition=Q(member_price__isnull=True)
                | Q(member_price__gte=0, member_price__lte=F("price")),
                name="sku_member_price_within_price",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.sku} {self.name}"

    @property
    def name(self) -> str:
        """The product's title with the specifications: what a receipt line says."""
        specs = " ".join(str(value) for value in self.specs.values())
        return f"{self.product.title} {specs}".strip()


class TierPrice(models.Model):
    """A member price for one tier on one SKU: it wins over the SKU's member price."""

    sku = models.ForeignKey(Sku, on_delete=models.CASCADE, related_name="tier_prices")
    tier = models.ForeignKey(
        Tier, verbose_name=_("tier"), on_delete=models.CASCADE, related_name="+"
    )
    price = models.DecimalField(_("price (yuan)"), max_digits=12, decimal_places=2)

    class Meta:
        verbose_name = _("tier price")
        verbose_name_plural = _("tier prices")
        constraints = [
            models.UniqueConstraint(fields=["sku", "tier"], name="tier_price_once"),
            models.CheckConstraint(condition=Q(price__gte=0), name="tier_price_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.sku_id} {self.tier_id}: {self.price}"

    def clean(self):
        if self.sku_id and self.price is not None and self.price > self.sku.price:
            raise ValidationError({"price": _("A tier price cannot be above the SKU's price.")})


class Shelf(models.Model):
    """What a store's own mall does with one of the products HQ lets it sell: a product
    with no row is shown, not pinned."""

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="+")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="shelves")
    shown = models.BooleanField(_("shown in the store's mall"), default=True)
    pinned = models.BooleanField(_("pinned as featured"), default=False)

    class Meta:
        verbose_name = _("store shelf")
        verbose_name_plural = _("store shelves")
        constraints = [
            models.UniqueConstraint(fields=["store", "product"], name="shelf_once"),
        ]

    def __str__(self) -> str:
        return f"{self.store_id} {self.product_id}"


class Stock(models.Model):
    """库存 of one SKU at one location: HQ's warehouse (no store) or a store, for pickup.
    `reserved` is held by placed orders not yet handed over; what can be sold is
    on_hand − reserved, and neither ever goes below zero."""

    sku = models.ForeignKey(
        Sku, verbose_name=_("SKU"), on_delete=models.CASCADE, related_name="stock"
    )
    store = models.ForeignKey(
        Store,
        verbose_name=_("store (none: HQ warehouse)"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
    )
    on_hand = models.PositiveIntegerField(_("on hand"), default=0)
    reserved = models.PositiveIntegerField(_("reserved by orders"), default=0)

    class Meta:
        verbose_name = _("stock")
        verbose_name_plural = _("stock")
        constraints = [
            models.UniqueConstraint(
                fields=["sku", "store"],
                condition=Q(store__isnull=False),
                name="stock_once_per_store",
            ),
            models.UniqueConstraint(
                fields=["sku"], condition=Q(store__isnull=True), name="stock_once_in_warehouse"
            ),
            models.CheckConstraint(
                condition=Q(reserved__lte=F("on_hand")), name="stock_reserved_within_on_hand"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.sku_id}@{self.store_id or 'HQ'}: {self.on_hand - self.reserved}"


class Reservation(models.Model):
    """Stock an order holds at one location, by the order's id (orders sit above the
    catalogue): reserved when the order is placed; released if it is cancelled, not paid in
    time, or refunded before the goods leave; handed over (taken off on_hand) when picked
    up or shipped. What it still holds is quantity − released − handed_over."""

    order_id = models.BigIntegerField(_("order"))
    stock = models.ForeignKey(Stock, on_delete=models.PROTECT, related_name="reservations")
    quantity = models.PositiveIntegerField(_("reserved"))
    released = models.PositiveIntegerField(_("released"), default=0)
    handed_over = models.PositiveIntegerField(_("handed over"), default=0)
    created_at = models.DateTimeField(_("at"), auto_now_add=True)

    class Meta:
        verbose_name = _("stock reservation")
        verbose_name_plural = _("stock reservations")
        constraints = [
            models.UniqueConstraint(fields=["order_id", "stock"], name="reservation_once"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="reservation_positive"),
            models.CheckConstraint(
                condition=Q(quantity__gte=F("released") + F("handed_over")),
                name="reservation_within_quantity",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.order_id}: {self.stock_id} × {self.quantity}"

    @property
    def held(self) -> int:
        return self.quantity - self.released - self.handed_over

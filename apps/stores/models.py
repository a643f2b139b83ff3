from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from apps.core.codes import readable_code
from apps.core.models import TimeStampedModel
from apps.distributors.models import Distributor, code_validator


def new_guide_code(choice=None) -> str:
    return readable_code(6, choice)


class Store(TimeStampedModel):
    """门店: a direct (直营) or franchise (加盟) store, optionally under a dealer."""

    class Kind(models.TextChoices):
        DIRECT = "direct", _("direct")
        FRANCHISE = "franchise", _("franchise")

    class Status(models.TextChoices):
        OPEN = "open", _("open")
        SUSPENDED = "suspended", _("suspended")
        CLOSED = "closed", _("closed")

    code = models.CharField(_("code"), max_length=16, unique=True, validators=[code_validator])
    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind)
    distributor = models.ForeignKey(
        Distributor,
        verbose_name=_("distributor"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="stores",
    )
    province = models.CharField(_("province"), max_length=20, blank=True)
    city = models.CharField(_("city"), max_length=30, db_index=True)
    district = models.CharField(_("district"), max_length=30, blank=True)
    address = models.CharField(_("address"), max_length=200)
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    latitude = models.DecimalField(
        _("latitude"), max_digits=9, decimal_places=6, null=True, blank=True
    )
    longitude = models.DecimalField(
        _("longitude"), max_digits=9, decimal_places=6, null=True, blank=True
    )
    status = models.CharField(_("status"), max_length=16, choices=Status, default=Status.OPEN)
    opened_on = models.DateField(_("opened on"), null=True, blank=True)
    # 在线收款 (store payment by QR), as HQ sets it for the store
    pay_enabled = models.BooleanField(
        _("takes store payments"),
        default=True,
        help_text=_("Members can pay this store an amount through its pay QR (在线收款)."),
    )
    pay_tier_discount = models.BooleanField(
        _("tier discount on store payments"),
        default=True,
        help_text=_("Members' tier discount applies to what they pay through the pay QR."),
    )

    class Meta:
        verbose_name = _("store")
        verbose_name_plural = _("stores")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(latitude__isnull=True) | Q(latitude__gte=-90, latitude__lte=90),
                name="store_latitude_range",
            ),
            models.CheckConstraint(
                condition=Q(longitude__isnull=True) | Q(longitude__gte=-180, longitude__lte=180),
                name="store_longitude_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    @property
    def full_address(self) -> str:
        return f"{self.province}{self.city}{self.district}{self.address}"

    @property
    def accepts_business(self) -> bool:
        """Whether the store takes sales, joins and payments (apps.stores.rules)."""
        return self.status == self.Status.OPEN


class Staff(TimeStampedModel):
    """A person's place in a store or at a dealer, with a role and a guide code (导购码)."""

    class Role(models.TextChoices):
        OWNER = "owner", _("owner")
        MANAGER = "manager", _("manager")
        CLERK = "clerk", _("clerk")
        GUIDE = "guide", _("guide")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("account"),
        on_delete=models.CASCADE,
        related_name="staff_roles",
    )
    store = models.ForeignKey(
        Store,
        verbose_name=_("store"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="staff",
    )
    distributor = models.ForeignKey(
        Distributor,
        verbose_name=_("distributor"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="staff",
    )
    role = models.CharField(_("role"), max_length=16, choices=Role)
    guide_code = models.CharField(
        _("guide code"), max_length=12, unique=True, default=new_guide_code
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("staff")
        verbose_name_plural = _("staff")
        ordering = ["store__code", "distributor__code", "role", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(store__isnull=False, distributor__isnull=True)
                | Q(store__isnull=True, distributor__isnull=False),
                name="staff_at_store_or_distributor",
                violation_error_message=_("Choose either a store or a distributor, not both."),
            ),
            models.UniqueConstraint(
                fields=["user", "store"],
                condition=Q(store__isnull=False),
                name="staff_once_per_store",
            ),
            models.UniqueConstraint(
                fields=["user", "distributor"],
                condition=Q(distributor__isnull=False),
                name="staff_once_per_distributor",
            ),
        ]

    def __str__(self) -> str:
        place = self.store or self.distributor
        return f"{self.user.display_name} · {place} · {self.get_role_display()}"

    def serves(self, store: Store) -> bool:
        """Whether members who join and sales made at `store` may be credited to this person
        (their guide code): only at their own store, while they work there."""
        return self.is_active and self.store_id is not None and self.store_id == store.pk


class PosApiKey(TimeStampedModel):
    """A store's key for the POS API. Only its SHA-256 is kept; the key is shown once."""

    store = models.ForeignKey(
        Store, verbose_name=_("store"), on_delete=models.CASCADE, related_name="pos_keys"
    )
    name = models.CharField(
        _("name"), max_length=100, help_text=_("Which till or POS vendor uses it.")
    )
    prefix = models.CharField(_("key starts with"), max_length=16)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True)

    class Meta:
        verbose_name = _("POS API key")
        verbose_name_plural = _("POS API keys")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.store.code} {self.name})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

"""分销: promoters, the commission rules HQ sets, and commissions in a money ledger.

The ledger is double-entry like the points ledger (DESIGN.md, Money ledgers): money only
moves, positive and in yuan to the fen, from one account to another; each account keeps its
balance, which equals the sum of its entries, and all balances sum to zero. The brand's
account is where commissions come from (its balance is what the brand has paid out in
commissions, negative); withdrawals asked and approved wait in the withdrawing account,
and what was paid out ends in the paid-out one. A promoter has three accounts: frozen
(inside the return window), available, and debt (what a refund took back after the
promoter had withdrawn it: a balance of zero or below, paid first by their next
commissions)."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.core.models import TimeStampedModel
from apps.members.models import Member
from apps.orders.models import Order, OrderLine, Refund
from apps.stores.models import Staff, Store


def _money(verbose_name, **options):
    return models.DecimalField(verbose_name, max_digits=12, decimal_places=2, **options)


class Promoter(TimeStampedModel):
    """推广员: a member who may earn commissions on what the members they bring buy; or a
    guide (导购), a promoter of their store by role, earning on the sales credited to them
    (paid by their store, through its settlement statement, not withdrawn)."""

    class Status(models.TextChoices):
        APPLIED = "applied", _("applied")
        APPROVED = "approved", _("approved")
        REFUSED = "refused", _("refused")
        SUSPENDED = "suspended", _("suspended")

    member = models.OneToOneField(
        Member,
        verbose_name=_("member"),
        on_delete=models.PROTECT,
        related_name="promoter",
        null=True,
        blank=True,
    )
    guide = models.OneToOneField(
        Staff,
        verbose_name=_("guide"),
        on_delete=models.PROTECT,
        related_name="promoter",
        null=True,
        blank=True,
    )
    status = models.CharField(_("status"), max_length=16, choices=Status)
    # The store whose promoter they are (its owner may decide their application); None: HQ's.
    store = models.ForeignKey(
        Store,
        verbose_name=_("store"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="promoters",
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    reason = models.CharField(_("reason"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("promoter")
        verbose_name_plural = _("promoters")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "store"], name="promoter_status_store")]
        constraints = [
            models.CheckConstraint(
                condition=Q(member__isnull=False, guide__isnull=True)
                | Q(member__isnull=True, guide__isnull=False, store__isnull=False),
                name="promoter_member_or_guide",
            )
        ]

    def __str__(self) -> str:
        return str(self.member) if self.member_id else str(self.guide)


class CommissionRule(TimeStampedModel):
    """How much a paid order earns its promoters: by default, for a category (and its
    subcategories) or for one product, the most specific active rule of a line winning. A
    rate is a percentage of what the line paid after every discount; a fixed amount is yuan
    per unit. Level 2 is the promoter's own promoter's share."""

    class Scope(models.TextChoices):
        DEFAULT = "default", _("every product")
        CATEGORY = "category", _("a category")
        PRODUCT = "product", _("a product")

    class Mode(models.TextChoices):
        RATE = "rate", _("percentage of what was paid")
        FIXED = "fixed", _("yuan per unit")

    name = models.CharField(_("name"), max_length=50)
    scope = models.CharField(_("applies to"), max_length=16, choices=Scope)
    category = models.CharField(
        _("category"), max_length=100, blank=True, help_text=_("Its path, e.g. 上衣/T恤.")
    )
    sku = models.CharField(_("SKU"), max_length=64, blank=True)
    mode = models.CharField(_("kind"), max_length=8, choices=Mode)
    level1 = models.DecimalField(_("level 1"), max_digits=8, decimal_places=2)
    level2 = models.DecimalField(_("level 2"), max_digits=8, decimal_places=2, default=0)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("commission rule")
        verbose_name_plural = _("commission rules")
        ordering = ["scope", "category", "sku"]
        constraints = [
            models.CheckConstraint(
                condition=Q(level1__gte=0) & Q(level2__gte=0),
                name="commission_rule_not_negative",
                violation_error_message=_("Commissions cannot be below zero."),
            ),
            models.CheckConstraint(
                condition=~Q(mode="rate") | Q(level1__lte=100 - F("level2")),
                name="commission_rule_rates_within_whole",
                violation_error_message=_("Level 1 and level 2 together are at most 100%%."),
            ),
            models.CheckConstraint(
                condition=Q(scope="default", category="", sku="")
                | Q(scope="category", sku="") & ~Q(category="")
                | Q(scope="product", category="") & ~Q(sku=""),
                name="commission_rule_names_its_scope",
                violation_error_message=_(
                    "A category rule names a category only, a product rule a SKU only, "
                    "the default neither."
                ),
            ),
            models.UniqueConstraint(
                fields=["scope", "category", "sku"],
                condition=Q(active=True),
                name="commission_rule_one_active_each",
                violation_error_message=_("An active rule for this already exists."),
            ),
        ]

    def __str__(self) -> str:
        return self.name


# The ledger's own accounts, one each (made by a migration): the brand's, the money of
# withdrawals approved or waiting, and what was paid out to promoters.
SYSTEM_KINDS = ("brand", "withdrawing", "paid_out")


class CommissionAccount(models.Model):
    class Kind(models.TextChoices):
        BRAND = "brand", _("brand")  # where every commission comes from: negative
        WITHDRAWING = "withdrawing", _("withdrawals being paid")
        PAID_OUT = "paid_out", _("paid out")
        FROZEN = "frozen", _("frozen")
        AVAILABLE = "available", _("available")
        DEBT = "debt", _("debt")  # zero or below: what the promoter owes

    kind = models.CharField(_("kind"), max_length=16, choices=Kind)
    promoter = models.ForeignKey(
        Promoter,
        verbose_name=_("promoter"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="accounts",
    )
    balance = models.DecimalField(_("balance"), max_digits=14, decimal_places=2, default=0)

    class Meta:
        verbose_name = _("commission account")
        verbose_name_plural = _("commission accounts")
        constraints = [
            models.CheckConstraint(
                condition=Q(kind="brand") | Q(kind="debt", balance__lte=0) | Q(balance__gte=0),
                name="commission_account_balance_sign",
            ),
            models.CheckConstraint(
                condition=Q(kind__in=SYSTEM_KINDS, promoter__isnull=True)
                | ~Q(kind__in=SYSTEM_KINDS) & Q(promoter__isnull=False),
                name="commission_account_owner",
            ),
            models.UniqueConstraint(
                fields=["promoter", "kind"], name="commission_account_one_each"
            ),
            models.UniqueConstraint(
                fields=["kind"],
                condition=Q(kind__in=SYSTEM_KINDS),
                name="commission_account_one_system_each",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.promoter or ''}".strip()


class Commission(models.Model):
    """What one paid order earns one promoter at one level: frozen until its return window
    ends, then available; refunds take back their share of it (`reversed`)."""

    class Status(models.TextChoices):
        FROZEN = "frozen", _("frozen")
        AVAILABLE = "available", _("available")
        REVERSED = "reversed", _("reversed")  # taken back in full

    order = models.ForeignKey(
        Order, verbose_name=_("order"), on_delete=models.PROTECT, related_name="commissions"
    )
    level = models.PositiveSmallIntegerField(_("level"))
    promoter = models.ForeignKey(
        Promoter,
        verbose_name=_("promoter"),
        on_delete=models.PROTECT,
        related_name="commissions",
    )
    base = _money(_("paid, that it is on"))
    amount = _money(_("commission"))
    reversed = _money(_("reversed"), default=0)
    status = models.CharField(_("status"), max_length=16, choices=Status)
    available_on = models.DateTimeField(_("available from"))
    created_at = models.DateTimeField(_("at"), default=timezone.now)
    released_at = models.DateTimeField(_("available since"), null=True, blank=True)

    class Meta:
        verbose_name = _("commission")
        verbose_name_plural = _("commissions")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["available_on"], name="commission_due", condition=Q(status="frozen")
            ),
            models.Index(fields=["promoter", "-created_at"], name="commission_promoter_recent"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["order", "level"], name="commission_once_per_level"),
            models.CheckConstraint(condition=Q(level__in=[1, 2]), name="commission_level"),
            models.CheckConstraint(
                condition=Q(amount__gt=0) & Q(reversed__gte=0) & Q(reversed__lte=F("amount")),
                name="commission_reversed_within_amount",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.order_id} L{self.level}: {self.amount}"


class CommissionLine(models.Model):
    """A commission's part from one order line: the parts add up to the commission, so a
    refund of a line takes back that line's part."""

    commission = models.ForeignKey(Commission, on_delete=models.CASCADE, related_name="lines")
    line = models.ForeignKey(OrderLine, on_delete=models.PROTECT, related_name="+")
    amount = _money(_("commission"))

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["commission", "line"], name="commission_line_once"),
            models.CheckConstraint(condition=Q(amount__gte=0), name="commission_line_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.commission_id}/{self.line_id}: {self.amount}"


class CommissionEntry(models.Model):
    """One transfer of the commission ledger. Never edited or deleted."""

    class Kind(models.TextChoices):
        EARN = "earn", _("earned")  # brand → frozen
        RELEASE = "release", _("available")  # frozen → available
        REPAY = "repay", _("debt repaid")  # frozen (or available) → debt
        REVERSE = "reverse", _("reversed")  # frozen, available or debt → brand
        WITHDRAW = "withdraw", _("withdrawal asked")  # available → withdrawing
        PAY = "pay", _("paid out")  # withdrawing → paid out
        FEE = "fee", _("withdrawal fee")  # withdrawing → brand
        RETURN = "return", _("withdrawal returned")  # withdrawing → available

    kind = models.CharField(_("kind"), max_length=16, choices=Kind)
    from_account = models.ForeignKey(
        CommissionAccount, on_delete=models.PROTECT, related_name="debits"
    )
    to_account = models.ForeignKey(
        CommissionAccount, on_delete=models.PROTECT, related_name="credits"
    )
    amount = _money(_("amount"))
    promoter = models.ForeignKey(
        Promoter, verbose_name=_("promoter"), on_delete=models.PROTECT, related_name="entries"
    )
    commission = models.ForeignKey(
        Commission,
        verbose_name=_("commission"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="entries",
    )
    refund = models.ForeignKey(
        Refund,
        verbose_name=_("refund"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    withdrawal = models.ForeignKey(
        "Withdrawal",
        verbose_name=_("withdrawal"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="entries",
    )
    description = models.CharField(_("description"), max_length=200)
    created_at = models.DateTimeField(_("at"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("commission entry")
        verbose_name_plural = _("commission ledger")
        ordering = ["-id"]
        indexes = [models.Index(fields=["promoter", "-id"], name="commission_entry_recent")]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gt=0), name="commission_entry_amount_positive"
            ),
            models.CheckConstraint(
                condition=~Q(from_account=F("to_account")), name="commission_entry_two_accounts"
            ),
            # A commission is earned once and released once (its debt part once).
            models.UniqueConstraint(
                fields=["commission", "kind"],
                condition=Q(kind__in=["earn", "release"], refund__isnull=True),
                name="commission_entry_once_per_commission",
            ),
            models.UniqueConstraint(
                fields=["commission", "kind", "from_account"],
                condition=Q(kind="repay", refund__isnull=True),
                name="commission_repay_once_per_commission",
            ),
            # A withdrawal moves its money once each way (a refused one's debt paid once).
            models.UniqueConstraint(
                fields=["withdrawal", "kind"],
                condition=Q(withdrawal__isnull=False),
                name="commission_entry_once_per_withdrawal",
            ),
            # A refund takes back its share of a commission once from each account.
            models.UniqueConstraint(
                fields=["commission", "refund", "from_account"],
                condition=Q(refund__isnull=False),
                name="commission_entry_once_per_refund",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.get_kind_display()} {self.amount}"


class Withdrawal(models.Model):
    """提现: a promoter asks for some of their available money; finance approves (and it is
    paid out through the payout backend, once) or refuses (and it comes back)."""

    class Status(models.TextChoices):
        REQUESTED = "requested", _("requested")
        APPROVED = "approved", _("approved, being paid")
        PAID = "paid", _("paid")
        REFUSED = "refused", _("refused")
        FAILED = "failed", _("payout failed")

    promoter = models.ForeignKey(
        Promoter, verbose_name=_("promoter"), on_delete=models.PROTECT, related_name="withdrawals"
    )
    amount = _money(_("amount"))
    fee = _money(_("fee"), default=0)
    status = models.CharField(_("status"), max_length=16, choices=Status)
    key = models.CharField(max_length=120)
    requested_at = models.DateTimeField(_("requested at"), default=timezone.now)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    paid_at = models.DateTimeField(_("paid at"), null=True, blank=True)
    payout_ref = models.CharField(_("payout reference"), max_length=64, blank=True)

    class Meta:
        verbose_name = _("withdrawal")
        verbose_name_plural = _("withdrawals")
        ordering = ["-requested_at", "-id"]
        permissions = [("decide_withdrawal", _("Can approve or refuse withdrawals"))]
        indexes = [
            models.Index(fields=["promoter", "requested_at"], name="withdrawal_promoter_day"),
            models.Index(fields=["status", "requested_at"], name="withdrawal_status"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["promoter", "key"], name="withdrawal_once_per_key"),
            models.CheckConstraint(
                condition=Q(amount__gt=0) & Q(fee__gte=0) & Q(fee__lt=F("amount")),
                name="withdrawal_amount_and_fee",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.amount}"

    @property
    def net(self):
        return self.amount - self.fee

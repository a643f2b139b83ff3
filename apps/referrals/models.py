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
        MERGED = "merged", _("merged into another")  # its member was merged: closed

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
    # Its member was merged into a member who is a promoter too: this record's money,
    # commissions and withdrawals in flight are that promoter's now (apps.referrals.merging).
    merged_into = models.ForeignKey(
        "self",
        verbose_name=_("merged into"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )

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
        # a merged promoter's frozen, available and debt → the surviving promoter's
        MERGE = "merge", _("carried over in a member merge")

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
        # WeChat's 商家转账 pays once the member confirms receipt in the mini-program
        CONFIRMING = "confirming", _("awaiting confirmation in WeChat")
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
    payout_package = models.TextField(
        _("confirmation package"),
        blank=True,
        help_text=_(
            "What the member confirms receipt with in the mini-program "
            "(wx.requestMerchantTransfer), while the payout awaits it."
        ),
    )

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


class ReferralRule(TimeStampedModel):
    """老带新: what HQ gives a referrer and the friend they brought (points, growth value, a
    coupon each) once the friend's first paid order has passed its return window, the
    referrer's limits, and when sign-ups look farmed. One rule is active at a time; a
    referral keeps the rule active when the friend joined."""

    name = models.CharField(_("name"), max_length=50)
    active = models.BooleanField(_("active"), default=True)
    referrer_points = models.PositiveIntegerField(_("referrer's points"), default=0)
    referrer_growth = models.PositiveIntegerField(_("referrer's growth value"), default=0)
    referrer_coupon = models.ForeignKey(
        "coupons.CouponTemplate",
        verbose_name=_("referrer's coupon"),
        on_delete=models.PROTECT,
        limit_choices_to={"auto_issue": "referral"},
        null=True,
        blank=True,
        related_name="+",
    )
    referee_points = models.PositiveIntegerField(_("friend's points"), default=0)
    referee_growth = models.PositiveIntegerField(_("friend's growth value"), default=0)
    referee_coupon = models.ForeignKey(
        "coupons.CouponTemplate",
        verbose_name=_("friend's coupon"),
        on_delete=models.PROTECT,
        limit_choices_to={"auto_issue": "referral"},
        null=True,
        blank=True,
        related_name="+",
    )
    min_order_amount = _money(
        _("first order at least (yuan)"),
        default=0,
        help_text=_("What the first order must still have paid, less refunds, to count."),
    )
    daily_limit = models.PositiveIntegerField(
        _("rewards a referrer per day"),
        null=True,
        blank=True,
        help_text=_("More wait for the next day. Empty: no limit."),
    )
    total_limit = models.PositiveIntegerField(
        _("rewards a referrer in all"),
        null=True,
        blank=True,
        help_text=_("Past it the referrer earns nothing more; their friends still do."),
    )
    burst_count = models.PositiveIntegerField(
        _("sign-ups from one device or address"),
        default=5,
        help_text=_("This many friends signing up from one device or address …"),
    )
    burst_hours = models.PositiveIntegerField(
        _("within hours"), default=24, help_text=_("… within this many hours are flagged.")
    )
    purchase_days = models.PositiveIntegerField(
        _("days to a first purchase"),
        default=30,
        help_text=_("A friend who has not bought within this many days is flagged."),
    )

    class Meta:
        verbose_name = _("referral rule")
        verbose_name_plural = _("referral rules")
        ordering = ["-active", "-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["active"],
                condition=Q(active=True),
                name="referral_rule_one_active",
                violation_error_message=_("Another referral rule is active: end it first."),
            ),
            models.CheckConstraint(
                condition=Q(burst_count__gte=2) & Q(burst_hours__gte=1),
                name="referral_rule_burst_sensible",
                violation_error_message=_("A burst is at least 2 sign-ups in at least 1 hour."),
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Referral(models.Model):
    """A friend (the referee) who joined with a member's referral code. Rewarded once their
    first paid order has passed its return window, unless it was refunded, they are flagged
    and not cleared, or their referrer is blacklisted (apps.referrals.rewards)."""

    class Status(models.TextChoices):
        WAITING = "waiting", _("no purchase yet")
        ORDERED = "ordered", _("first order in its return window")
        REWARDED = "rewarded", _("rewarded")
        VOID = "void", _("no reward")

    class Void(models.TextChoices):
        NONE = "", _("—")
        REFUNDED = "refunded", _("first order refunded")
        RETURNING = "returning", _("phone referred or deleted before")
        SELF = "self", _("self-referral")
        CLOSED = "closed", _("account closed")
        HQ = "hq", _("refused by HQ")

    referee = models.OneToOneField(
        Member, verbose_name=_("friend"), on_delete=models.PROTECT, related_name="referral"
    )
    referrer = models.ForeignKey(
        Member, verbose_name=_("referrer"), on_delete=models.PROTECT, related_name="+"
    )
    rule = models.ForeignKey(
        ReferralRule,
        verbose_name=_("rule"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="referrals",
    )
    # The friend's phone as a keyed hash (apps.members.returning): it outlives the account,
    # so one phone is rewarded once, ever.
    phone_hash = models.CharField(max_length=64)
    # Where the friend signed up from: the requester (apps.core.clients) and a device id.
    requester = models.CharField(_("address"), max_length=45, blank=True)
    device = models.CharField(_("device"), max_length=64, blank=True)
    joined_at = models.DateTimeField(_("joined at"), default=timezone.now)
    status = models.CharField(_("status"), max_length=16, choices=Status, default=Status.WAITING)
    void_reason = models.CharField(
        _("why no reward"), max_length=16, choices=Void, default="", blank=True
    )
    first_order = models.ForeignKey(
        Order,
        verbose_name=_("first paid order"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    due_at = models.DateTimeField(_("return window ends"), null=True, blank=True)
    rewarded_at = models.DateTimeField(_("rewarded at"), null=True, blank=True)

    class Meta:
        verbose_name = _("referral")
        verbose_name_plural = _("referrals")
        ordering = ["-joined_at", "-id"]
        indexes = [
            models.Index(fields=["referrer", "-joined_at"], name="referral_referrer_recent"),
            models.Index(fields=["due_at"], name="referral_due", condition=Q(status="ordered")),
            models.Index(
                fields=["joined_at"], name="referral_waiting", condition=Q(status="waiting")
            ),
            models.Index(fields=["requester", "joined_at"], name="referral_requester"),
            models.Index(fields=["device", "joined_at"], name="referral_device"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["phone_hash"],
                condition=Q(status="rewarded"),
                name="referral_rewarded_once_per_phone",
            ),
            models.CheckConstraint(condition=~Q(referee=F("referrer")), name="referral_not_self"),
            models.CheckConstraint(
                condition=Q(status="void") & ~Q(void_reason="")
                | ~Q(status="void") & Q(void_reason=""),
                name="referral_void_has_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.referrer_id} → {self.referee_id}"


class ReferralFlag(models.Model):
    """Why a referral looks farmed: it earns nothing until HQ clears it (audited)."""

    class Reason(models.TextChoices):
        SAME_ADDRESS = "same_address", _("many friends from one address")
        SAME_DEVICE = "same_device", _("many friends from one device")
        NO_PURCHASE = "no_purchase", _("no purchase in time")
        REFERRER_DEVICE = "referrer_device", _("the referrer's own device")

    referral = models.ForeignKey(
        Referral, verbose_name=_("referral"), on_delete=models.CASCADE, related_name="flags"
    )
    reason = models.CharField(_("reason"), max_length=20, choices=Reason)
    detail = models.CharField(_("detail"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("flagged at"), default=timezone.now)
    cleared_at = models.DateTimeField(_("cleared at"), null=True, blank=True)
    cleared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("cleared by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        verbose_name = _("referral flag")
        verbose_name_plural = _("referral flags")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["referral"], name="referral_flag_open", condition=Q(cleared_at=None)
            )
        ]
        constraints = [
            models.UniqueConstraint(fields=["referral", "reason"], name="referral_flag_once")
        ]

    def __str__(self) -> str:
        return self.get_reason_display()


class ReferrerBlock(models.Model):
    """推荐黑名单: a member whose referrals earn nothing, for them or their friends, while
    listed."""

    member = models.OneToOneField(
        Member, verbose_name=_("referrer"), on_delete=models.PROTECT, related_name="+"
    )
    reason = models.CharField(_("reason"), max_length=200)
    created_at = models.DateTimeField(_("listed at"), default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("listed by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        verbose_name = _("blacklisted referrer")
        verbose_name_plural = _("referrer blacklist")

    def __str__(self) -> str:
        return str(self.member)


class ReferralReward(models.Model):
    """What one side of a referral was given, once (its points, growth and coupon name it as
    their cause)."""

    class Side(models.TextChoices):
        REFERRER = "referrer", _("referrer")
        REFEREE = "referee", _("friend")

    referral = models.ForeignKey(
        Referral, verbose_name=_("referral"), on_delete=models.PROTECT, related_name="rewards"
    )
    side = models.CharField(_("side"), max_length=8, choices=Side)
    member = models.ForeignKey(
        Member, verbose_name=_("member"), on_delete=models.PROTECT, related_name="+"
    )
    points = models.PositiveIntegerField(_("points"), default=0)
    growth = models.PositiveIntegerField(_("growth value"), default=0)
    coupon = models.ForeignKey(
        "coupons.Coupon",
        verbose_name=_("coupon"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    given_at = models.DateTimeField(_("given at"), default=timezone.now)
    given_on = models.DateField(_("day"))  # the referrer's daily limit counts by it
    # Taken back because the friend's first order was refunded after all, below what
    # qualified it (apps.referrals.clawback): once, by that refund.
    clawed_back_at = models.DateTimeField(_("taken back at"), null=True, blank=True)
    clawback_refund = models.ForeignKey(
        Refund,
        verbose_name=_("taken back for refund"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    points_back = models.PositiveIntegerField(_("points taken back"), default=0)
    points_spent = models.PositiveIntegerField(_("points already spent, not taken back"), default=0)
    growth_back = models.PositiveIntegerField(_("growth value taken back"), default=0)
    coupon_kept = models.BooleanField(
        _("coupon already used, kept"),
        default=False,
        help_text=_("The coupon was used or held by an order when the reward was taken back."),
    )

    class Meta:
        verbose_name = _("referral reward")
        verbose_name_plural = _("referral rewards")
        ordering = ["-given_at", "-id"]
        indexes = [models.Index(fields=["member", "given_on"], name="referral_reward_day")]
        constraints = [
            models.UniqueConstraint(fields=["referral", "side"], name="referral_reward_once")
        ]

    def __str__(self) -> str:
        return f"{self.referral_id} {self.side}"

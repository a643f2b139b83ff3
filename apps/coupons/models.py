"""优惠券: templates HQ designs, the coupons members hold, and batches HQ issues."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _

from apps.core.models import TimeStampedModel
from apps.core.text import comma_separated
from apps.coupons.rules import Eligibility
from apps.distributors.models import Distributor
from apps.members.models import Member, Segment
from apps.stores.models import Store
from apps.tiers.models import Tier


class CouponTemplate(TimeStampedModel):
    class Kind(models.TextChoices):
        THRESHOLD = "threshold", _("spend X, Y off (满减)")
        PERCENT = "percent", _("percent off (折扣)")
        CASH = "cash", _("cash off, no threshold (无门槛)")
        GIFT = "gift", _("free product (兑换券)")
        SHIPPING = "shipping", _("free delivery")

    class Bearer(models.TextChoices):
        HQ = "hq", _("HQ")
        DISTRIBUTOR = "distributor", _("dealer")
        STORE = "store", _("store")

    class AutoIssue(models.TextChoices):
        NONE = "", _("never")
        JOIN = "join", _("on joining")
        BIRTHDAY = "birthday", _("on the member's birthday")
        TIER_UPGRADE = "tier_upgrade", _("on a tier upgrade")
        REFERRAL = "referral", _("as a referral reward (the referral rule names it)")

    CHANNELS = ("store", "miniprogram", "mall")

    name = models.CharField(_("name members see"), max_length=50)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind)
    active = models.BooleanField(_("active"), default=True)
    description = models.TextField(_("terms members see"), blank=True)
    threshold = models.DecimalField(
        _("spend at least (yuan)"), max_digits=12, decimal_places=2, null=True, blank=True
    )
    amount = models.DecimalField(
        _("amount off (yuan)"), max_digits=12, decimal_places=2, null=True, blank=True
    )
    percent_off = models.DecimalField(
        _("percent off"),
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        help_text=_("20 means 20 percent off (八折)."),
    )
    max_discount = models.DecimalField(
        _("at most off (yuan)"), max_digits=12, decimal_places=2, null=True, blank=True
    )
    gift_sku = models.CharField(_("free product SKU"), max_length=64, blank=True)

    valid_from = models.DateTimeField(_("usable from"), null=True, blank=True)
    valid_until = models.DateTimeField(_("usable until"), null=True, blank=True)
    valid_days = models.PositiveSmallIntegerField(
        _("or usable for days after issue"),
        null=True,
        blank=True,
        help_text=_("Counting the day of issue; leave empty for the fixed window."),
    )
    claimable = models.BooleanField(
        _("members may claim it"), default=False, help_text=_("Shown in the mini-program.")
    )
    claim_starts_at = models.DateTimeField(_("claims open"), null=True, blank=True)
    claim_ends_at = models.DateTimeField(_("claims close"), null=True, blank=True)
    points_price = models.PositiveIntegerField(
        _("price in points"), null=True, blank=True, help_text=_("Members may exchange points.")
    )
    auto_issue = models.CharField(
        _("issued automatically"), max_length=16, choices=AutoIssue, default="", blank=True
    )

    total_stock = models.PositiveIntegerField(
        _("stock"), null=True, blank=True, help_text=_("Empty: unlimited.")
    )
    issued = models.PositiveIntegerField(_("issued"), default=0, editable=False)
    per_member_limit = models.PositiveSmallIntegerField(
        _("claims per member"), default=1, help_text=_("Claims and points exchanges.")
    )
    daily_limit = models.PositiveIntegerField(_("at most issued a day"), null=True, blank=True)
    per_store_limit = models.PositiveIntegerField(
        _("at most issued per store"),
        null=True,
        blank=True,
        help_text=_("Claims by a store's members and gifts by its staff."),
    )

    eligible_tiers = models.ManyToManyField(
        Tier, verbose_name=_("only for these tiers"), blank=True, related_name="+"
    )
    new_members_only = models.BooleanField(
        _("new members only"),
        default=False,
        help_text=_("Members who joined within COUPON_NEW_MEMBER_DAYS days."),
    )
    eligible_stores = models.ManyToManyField(
        Store,
        verbose_name=_("only for members of these stores"),
        blank=True,
        related_name="+",
    )
    eligible_distributors = models.ManyToManyField(
        Distributor,
        verbose_name=_("only for members of these dealers' stores"),
        blank=True,
        related_name="+",
    )

    channels = models.CharField(
        _("usable in channels"),
        max_length=40,
        blank=True,
        help_text=_("Comma-separated of store, miniprogram, mall; empty: all."),
    )
    usable_stores = models.ManyToManyField(
        Store, verbose_name=_("usable only in these stores"), blank=True, related_name="+"
    )
    include_skus = models.TextField(_("only these SKUs"), blank=True)
    include_categories = models.TextField(_("only these categories"), blank=True)
    exclude_skus = models.TextField(_("not these SKUs"), blank=True)
    exclude_categories = models.TextField(_("not these categories"), blank=True)
    stackable = models.BooleanField(
        _("combines with other coupons"), default=False, help_text=_("Default: one per order.")
    )
    cost_bearer = models.CharField(
        _("cost borne by"), max_length=16, choices=Bearer, default=Bearer.HQ
    )

    class Meta:
        verbose_name = _("coupon template")
        verbose_name_plural = _("coupon templates")
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(total_stock__isnull=True) | Q(issued__lte=F("total_stock")),
                name="coupon_template_never_oversold",
            ),
            models.CheckConstraint(
                condition=~Q(kind__in=["threshold", "cash"]) | Q(amount__gt=0),
                name="coupon_template_amount",
            ),
            models.CheckConstraint(
                condition=~Q(kind="threshold") | Q(threshold__gt=0),
                name="coupon_template_threshold",
            ),
            models.CheckConstraint(
                condition=~Q(kind="percent") | Q(percent_off__gt=0, percent_off__lt=100),
                name="coupon_template_percent",
            ),
            models.CheckConstraint(
                condition=~Q(kind="gift") | ~Q(gift_sku=""), name="coupon_template_gift"
            ),
            models.CheckConstraint(
                condition=Q(valid_days__gt=0) | Q(valid_until__isnull=False),
                name="coupon_template_validity",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def remaining(self) -> int | None:
        return None if self.total_stock is None else self.total_stock - self.issued

    @cached_property
    def eligibility(self) -> Eligibility:
        """Read once for this object (from the prefetched lists when it has them): a drop's
        claims share one held template, and Django builds a new manager on every read of a
        many-to-many field."""
        return Eligibility(
            tuple(self.eligible_tiers.all()),
            frozenset(store.pk for store in self.eligible_stores.all()),
            frozenset(d.pk for d in self.eligible_distributors.all()),
            self.new_members_only,
        )

    @cached_property
    def usable_store_ids(self) -> frozenset[int]:
        """Where its coupons can be used (empty: anywhere), read once as `eligibility` is."""
        return frozenset(store.pk for store in self.usable_stores.all())

    @property
    def channel_set(self) -> frozenset[str]:
        return comma_separated(self.channels) or frozenset(self.CHANNELS)


class TemplateCounter(models.Model):
    """How many of a template were issued in a `day` or for a `store` (one of them), for its
    daily and per-store limits. Moved only by conditional UPDATEs."""

    template = models.ForeignKey(CouponTemplate, on_delete=models.CASCADE, related_name="+")
    day = models.DateField(null=True, blank=True)
    store = models.ForeignKey(
        Store,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,  # the unique (template, store) index serves it
    )
    issued = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["template", "day"],
                condition=Q(day__isnull=False),
                name="template_counter_day_once",
            ),
            models.UniqueConstraint(
                fields=["template", "store"],
                condition=Q(store__isnull=False),
                name="template_counter_store_once",
            ),
            models.CheckConstraint(
                condition=Q(day__isnull=False, store__isnull=True)
                | Q(day__isnull=True, store__isnull=False),
                name="template_counter_day_or_store",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.template_id} {self.day or self.store_id}: {self.issued}"


def _only_when(source: Q, holds: Q, field: str) -> Q:
    """A coupon of `source` has `field` (and `holds`); a coupon of another source has not."""
    return (source & Q(**{f"{field}__isnull": False}) & holds) | (
        ~source & Q(**{f"{field}__isnull": True})
    )


class Coupon(models.Model):
    class Status(models.TextChoices):
        AVAILABLE = "available", _("available")
        LOCKED = "locked", _("held by an unpaid order")
        USED = "used", _("used")
        EXPIRED = "expired", _("expired")
        VOID = "void", _("void")

    class Source(models.TextChoices):
        CLAIM = "claim", _("claimed")
        BATCH = "batch", _("issued by HQ")
        EVENT = "event", _("issued automatically")
        EXCHANGE = "exchange", _("exchanged for points")
        STORE_GIFT = "store_gift", _("given by a store")

    template = models.ForeignKey(
        CouponTemplate, verbose_name=_("template"), on_delete=models.PROTECT, related_name="coupons"
    )
    member = models.ForeignKey(
        Member, verbose_name=_("member"), on_delete=models.PROTECT, related_name="coupons"
    )
    # Unique by the constraint below, which, unlike unique=True, adds no second index for LIKE
    # that no lookup uses and every issue would have to write.
    code = models.CharField(_("code"), max_length=20)
    status = models.CharField(_("status"), max_length=16, choices=Status, default=Status.AVAILABLE)

    class CauseKind(models.TextChoices):
        JOIN = "join", _("joining")  # id: the member's
        REFERRAL = "referral", _("a friend's joining")  # id: the friend's (a member's)
        TIER_UPGRADE = "tier_upgrade", _("a tier upgrade")  # id: the tier_changed event's
        BIRTHDAY = "birthday", _("a birthday")  # id: the year
        DEMO = "demo", _("demo data")  # id: what the demo chose
        CAMPAIGN = "campaign", _("a campaign")  # id: the campaign occurrence's
        REFERRAL_REWARD = "referral_reward", _("a referral reward")  # id: the ReferralReward's

    source = models.CharField(_("source"), max_length=16, choices=Source)
    # Who it was issued to, which a member merge leaves alone (it moves `member`): what
    # makes an issue once is about them. Each source's reference is a column of its own,
    # unique with the template and this member (see the constraints).
    issued_to = models.ForeignKey(
        Member,
        verbose_name=_("issued to"),
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,  # led by the template or the batch in the indexes that use it
    )
    claim_slot = models.PositiveSmallIntegerField(
        _("claim number"),
        null=True,
        blank=True,
        help_text=_("A claim or an exchange: which of the member's claims of the template."),
    )
    batch = models.ForeignKey(
        "IssueBatch",
        verbose_name=_("issue batch"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,  # the unique (batch, issued_to) index serves it
    )
    cause_kind = models.CharField(
        _("issued on"), max_length=16, choices=CauseKind, blank=True, default=""
    )
    cause_id = models.BigIntegerField(_("cause id"), null=True, blank=True)
    # A store's gift: the key its staff's form sent, once per store.
    idempotency_key = models.CharField(max_length=120, null=True, blank=True)
    store = models.ForeignKey(
        Store,
        verbose_name=_("issued for store"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    issued_at = models.DateTimeField(_("issued at"), default=timezone.now)
    valid_from = models.DateTimeField(_("usable from"))
    valid_until = models.DateTimeField(_("usable until"))
    # The order holding the coupon, or that used it: an order's id, not a foreign key, as
    # coupons sit below orders (DESIGN.md, layers).
    order_id = models.BigIntegerField(_("held for or used by order"), null=True, blank=True)
    locked_at = models.DateTimeField(null=True, blank=True)
    used_at = models.DateTimeField(_("used at"), null=True, blank=True)
    used_store = models.ForeignKey(
        Store,
        verbose_name=_("used in store"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    receipt = models.CharField(
        _("till's receipt"),
        max_length=64,
        blank=True,
        help_text=_("The sale a till redeemed the coupon for, if it said."),
    )
    discount = models.DecimalField(
        _("took off (yuan)"), max_digits=12, decimal_places=2, null=True, blank=True
    )
    order_amount = models.DecimalField(
        _("order amount (yuan)"), max_digits=12, decimal_places=2, null=True, blank=True
    )
    reminded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("coupon")
        verbose_name_plural = _("coupons")
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["member", "status", "valid_until"], name="coupon_wallet"),
            models.Index(
                fields=["valid_until"], name="coupon_expiry_due", condition=Q(status="available")
            ),
            models.Index(fields=["template", "status"], name="coupon_template_status"),
            models.Index(
                fields=["order_id"], name="coupon_order", condition=Q(order_id__isnull=False)
            ),
        ]
        constraints = [
            models.UniqueConstraint(fields=["code"], name="coupon_code_unique"),
            models.UniqueConstraint(
                fields=["template", "issued_to", "claim_slot"],
                condition=Q(claim_slot__isnull=False),
                name="coupon_claim_slot_once",
            ),
            models.UniqueConstraint(
                fields=["batch", "issued_to"],
                condition=Q(batch__isnull=False),
                name="coupon_batch_once",
            ),
            models.UniqueConstraint(
                fields=["template", "issued_to", "cause_kind", "cause_id"],
                condition=Q(cause_id__isnull=False),
                name="coupon_cause_once",
            ),
            models.UniqueConstraint(
                fields=["store", "idempotency_key"],
                condition=Q(idempotency_key__isnull=False),
                name="coupon_gift_once",
            ),
            models.CheckConstraint(
                condition=_only_when(
                    Q(source__in=["claim", "exchange"]), Q(claim_slot__gte=1), "claim_slot"
                ),
                name="coupon_claim_has_slot",
            ),
            models.CheckConstraint(
                condition=_only_when(Q(source="batch"), Q(), "batch"),
                name="coupon_batch_has_batch",
            ),
            models.CheckConstraint(
                condition=_only_when(Q(source="event"), ~Q(cause_kind=""), "cause_id")
                & (Q(source="event") | Q(cause_kind="")),
                name="coupon_event_has_cause",
            ),
            models.CheckConstraint(
                condition=_only_when(
                    Q(source="store_gift"), Q(store__isnull=False), "idempotency_key"
                ),
                name="coupon_gift_has_key",
            ),
            models.CheckConstraint(
                condition=~Q(status="used") | Q(used_at__isnull=False), name="coupon_used_when"
            ),
            models.CheckConstraint(
                condition=~Q(status="locked") | Q(order_id__isnull=False),
                name="coupon_held_for_order",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["locked", "used"]) | Q(order_id__isnull=True),
                name="coupon_order_when_held_or_used",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.template} {self.code}"


class IssueBatch(TimeStampedModel):
    """HQ issues a template to a segment or to a list of phone numbers, as a resumable job."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("draft")
        RUNNING = "running", _("issuing")
        DONE = "done", _("done")
        SOLD_OUT = "sold_out", _("stopped: stock ran out")

    name = models.CharField(_("name"), max_length=80)
    template = models.ForeignKey(
        CouponTemplate, verbose_name=_("template"), on_delete=models.PROTECT, related_name="+"
    )
    segment = models.ForeignKey(
        Segment, verbose_name=_("segment"), on_delete=models.PROTECT, null=True, blank=True
    )
    phones = models.TextField(
        _("phone numbers"), blank=True, help_text=_("One per line, or upload a file.")
    )
    status = models.CharField(_("status"), max_length=16, choices=Status, default=Status.DRAFT)
    cursor = models.BigIntegerField(default=0, editable=False)
    issued = models.PositiveIntegerField(_("issued"), default=0, editable=False)
    skipped = models.PositiveIntegerField(_("already had it"), default=0, editable=False)
    unknown = models.PositiveIntegerField(_("phones not members"), default=0, editable=False)
    targeted = models.PositiveIntegerField(_("members targeted"), default=0, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        verbose_name = _("coupon issue batch")
        verbose_name_plural = _("coupon issue batches")
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(segment__isnull=False) | ~Q(phones=""), name="batch_has_targets"
            )
        ]

    def __str__(self) -> str:
        return self.name

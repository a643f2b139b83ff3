"""积分: a double-entry ledger. Points only ever move, whole and positive, from one account
to another; each account keeps its balance, which equals the sum of its entries."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.core.models import TimeStampedModel
from apps.distributors.models import Distributor
from apps.members.models import Member
from apps.stores.models import Store

# How many accounts issuance and pending are each kept in (Account). Only ever raised: a
# migration makes the new parts.
PARTS = 16


class Account(models.Model):
    """An account of the ledger. Every sale moves points out of issuance and into pending, so
    those two are kept in PARTS accounts each (分户), one row lock apiece: a member's own
    earns and redemptions use the part `part_of` gives them, so tills selling to different
    members seldom wait on each other; part 0 is for the writes that give many members points
    in one transaction (a campaign's chunk, an import's, referral rewards) and for the
    bonuses the worker gives after an event, which may wait for a core holding it. Settling pending
    points takes the parts its lots were earned into. Breakage, written by the jobs alone,
    has one part."""

    PARTS = PARTS
    SHARED = ("issuance", "pending")

    class Kind(models.TextChoices):
        MEMBER = "member", _("member")
        STORE = "store", _("store")
        DISTRIBUTOR = "distributor", _("distributor")
        ISSUANCE = (
            "issuance",
            _("issuance"),
        )  # where every point comes from: its balance is negative
        PENDING = "pending", _("pending")  # points earned but still inside the return window
        BREAKAGE = "breakage", _("breakage")  # points that expired

    kind = models.CharField(_("kind"), max_length=16, choices=Kind)
    member = models.OneToOneField(
        Member, on_delete=models.PROTECT, null=True, blank=True, related_name="points_account"
    )
    store = models.OneToOneField(
        Store, on_delete=models.PROTECT, null=True, blank=True, related_name="points_account"
    )
    distributor = models.OneToOneField(
        Distributor, on_delete=models.PROTECT, null=True, blank=True, related_name="points_account"
    )
    part = models.PositiveSmallIntegerField(_("part"), default=0)
    balance = models.BigIntegerField(_("balance"), default=0)

    class Meta:
        verbose_name = _("points account")
        verbose_name_plural = _("points accounts")
        constraints = [
            models.CheckConstraint(
                condition=Q(balance__gte=0) | Q(kind="issuance"),
                name="account_balance_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(kind="member", member__isnull=False)
                | ~Q(kind="member") & Q(member__isnull=True),
                name="account_member_owner",
            ),
            models.CheckConstraint(
                condition=Q(kind="store", store__isnull=False)
                | ~Q(kind="store") & Q(store__isnull=True),
                name="account_store_owner",
            ),
            models.CheckConstraint(
                condition=Q(kind="distributor", distributor__isnull=False)
                | ~Q(kind="distributor") & Q(distributor__isnull=True),
                name="account_distributor_owner",
            ),
            models.UniqueConstraint(
                fields=["kind", "part"],
                condition=Q(kind__in=["issuance", "pending", "breakage"]),
                name="one_system_account_part_each",
            ),
            models.CheckConstraint(
                condition=Q(part=0) | Q(kind__in=["issuance", "pending"], part__lt=PARTS),
                name="account_part_of_a_shared_kind",
            ),
        ]

    def __str__(self) -> str:
        owner = self.member or self.store or self.distributor
        part = f"#{self.part}" if self.kind in self.SHARED else ""
        return f"{self.get_kind_display()}{part} {owner or ''}".strip()

    @classmethod
    def part_of(cls, member_id: int) -> int:
        """The part of issuance and pending a member's own earns and redemptions use: one of
        1 to PARTS − 1, so a campaign's or an import's chunk or an event's bonus, holding part
        0, keeps no till waiting."""
        return 1 + member_id % (cls.PARTS - 1)


# Causes that write one entry each, as Entry's unique constraints say: an event's bonus
# once per earning rule, an import or a job batch once per member, a merge or the demo data
# once (the demo: once per member, its id).
ONCE_PER_RULE = ("first_purchase", "join", "profile_complete")
ONCE_PER_MEMBER = ("import", "maturity", "expiry")
ONCE_PER_CAUSE = ("merge", "demo", "referral")


class JobBatch(models.Model):
    """One batch of a scheduled job over the ledger, one transaction: the cause its entries
    name, one a member."""

    class Kind(models.TextChoices):
        MATURITY = "maturity", _("return window over")
        EXPIRY = "expiry", _("expiry")

    kind = models.CharField(_("kind"), max_length=16, choices=Kind)
    created_at = models.DateTimeField(_("at"), default=timezone.now)

    class Meta:
        verbose_name = _("ledger job batch")
        verbose_name_plural = _("ledger job batches")

    def __str__(self) -> str:
        return f"#{self.pk} {self.get_kind_display()}"


class Entry(models.Model):
    """One transfer. Never edited or deleted; a mistake is undone by a reversing entry."""

    class Kind(models.TextChoices):
        EARN = "earn", _("earned")
        REDEEM = "redeem", _("redeemed")
        EXPIRE = "expire", _("expired")
        ADJUST = "adjust", _("adjusted")
        REVERSE = "reverse", _("reversed")
        EXCHANGE = "exchange", _("exchanged")
        SETTLE = "settle", _("settled")
        MERGE = "merge", _("merged")

    class CauseKind(models.TextChoices):
        ORDER = "order", _("order")  # id: the order's
        REFUND = "refund", _("refund")  # id: the refund's
        FIRST_PURCHASE = "first_purchase", _("first purchase")  # id: the order's
        JOIN = "join", _("joining")  # id: the member's
        PROFILE_COMPLETE = "profile_complete", _("completing the profile")  # id: the member's
        COUPON = "coupon", _("coupon exchange")  # id: the coupon's
        ADMIN = "admin", _("HQ by hand")
        IMPORT = "import", _("import")  # id: the member import's
        MERGE = "merge", _("member merge")  # id: the merged member's
        MATURITY = "maturity", _("return window over")  # id: the job batch's
        EXPIRY = "expiry", _("expiry")  # id: the job batch's
        DEMO = "demo", _("demo data")  # id: the member's, for the demo's own grants
        CAMPAIGN = "campaign", _("a campaign")  # id: the campaign occurrence's
        REFERRAL = "referral", _("referral reward")  # id: the ReferralReward's

    kind = models.CharField(_("kind"), max_length=16, choices=Kind)
    from_account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="debits")
    to_account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="credits")
    amount = models.PositiveBigIntegerField(_("points"))
    member = models.ForeignKey(
        Member,
        verbose_name=_("member"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="points_entries",
    )
    # A key a client or a form supplied (an Idempotency-Key, the console's form key); the
    # causes that write once need none: the constraints below make them unique.
    idempotency_key = models.CharField(max_length=120, unique=True, null=True, blank=True)
    # What caused the entry, as (kind, id): an order, a refund, a coupon bought … The ledger
    # sits below the apps that own most of these, so the id is no foreign key.
    cause_kind = models.CharField(_("cause"), max_length=16, choices=CauseKind)
    cause_id = models.BigIntegerField(_("cause id"), null=True, blank=True)
    # The earning rule whose bonus this is (an event's bonus: joining, a first purchase …).
    rule = models.ForeignKey(
        "EarningRule",
        verbose_name=_("earning rule"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    description = models.CharField(_("description"), max_length=200)
    reverses = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="reversals"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("at"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("points entry")
        verbose_name_plural = _("points ledger")
        ordering = ["-id"]
        permissions = [("adjust_points", _("Can adjust members' points by hand"))]
        indexes = [models.Index(fields=["member", "-id"], name="entry_member_recent")]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="entry_amount_positive"),
            models.CheckConstraint(
                condition=~Q(from_account=F("to_account")), name="entry_two_accounts"
            ),
            models.CheckConstraint(
                condition=Q(cause_id__isnull=False)
                | ~Q(cause_kind__in=["order", "refund", *ONCE_PER_RULE, *ONCE_PER_MEMBER, "merge"]),
                name="entry_cause_has_id",
            ),
            # An order earns once, spends points once and gives them back once when cancelled;
            # a refund takes back each entry of its order at most once.
            models.UniqueConstraint(
                fields=["cause_kind", "cause_id", "kind"],
                condition=Q(cause_kind__in=["order", "refund"], reverses__isnull=True),
                name="entry_once_per_order",
            ),
            models.UniqueConstraint(
                fields=["cause_kind", "cause_id", "reverses"],
                condition=Q(cause_kind__in=["order", "refund"], reverses__isnull=False),
                name="entry_reversal_once_per_order",
            ),
            # An event gives each of its bonus rules once (joining: once per member; a first
            # purchase: once per order).
            models.UniqueConstraint(
                fields=["cause_kind", "cause_id", "rule"],
                condition=Q(cause_kind__in=ONCE_PER_RULE),
                name="entry_bonus_once_per_rule",
            ),
            # An import credits a member once; a job batch moves a member's points once.
            models.UniqueConstraint(
                fields=["cause_kind", "cause_id", "member"],
                condition=Q(cause_kind__in=ONCE_PER_MEMBER),
                name="entry_once_per_member_of_cause",
            ),
            # A merged member's points move once; the demo grants a member points once; a referral
            # reward gives its points once.
            models.UniqueConstraint(
                fields=["cause_kind", "cause_id"],
                condition=Q(cause_kind__in=ONCE_PER_CAUSE),
                name="entry_once_per_cause",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.get_kind_display()} {self.amount}"


class Lot(models.Model):
    """Points earned together, expiring together. Spent soonest-expiring first."""

    class Status(models.TextChoices):
        PENDING = "pending", _("pending")
        AVAILABLE = "available", _("available")
        EXPIRED = "expired", _("expired")
        VOID = "void", _("void")

    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="points_lots")
    entry = models.OneToOneField(Entry, on_delete=models.PROTECT, related_name="lot")
    amount = models.PositiveBigIntegerField()
    remaining = models.PositiveBigIntegerField()
    status = models.CharField(max_length=16, choices=Status)
    expires_on = models.DateField(_("expires on"))
    matures_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("points lot")
        verbose_name_plural = _("points lots")
        indexes = [
            models.Index(
                fields=["member", "expires_on", "id"],
                name="lot_member_spend_order",
                condition=Q(status="available"),
            ),
            models.Index(
                fields=["expires_on"], name="lot_expiry_due", condition=Q(status="available")
            ),
            models.Index(
                fields=["matures_at"], name="lot_maturity_due", condition=Q(status="pending")
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(remaining__lte=F("amount")), name="lot_remaining_within_amount"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.member_id}: {self.remaining}/{self.amount} until {self.expires_on}"


class LotUse(models.Model):
    """What an entry took from a lot (redeem, expire, void), or gave back to it (a reversed
    redemption, as a negative amount). A lot's remaining = its amount − the sum of its uses."""

    entry = models.ForeignKey(Entry, on_delete=models.PROTECT, related_name="lot_uses")
    lot = models.ForeignKey(Lot, on_delete=models.PROTECT, related_name="uses")
    amount = models.BigIntegerField()

    class Meta:
        constraints = [
            models.CheckConstraint(condition=~Q(amount=0), name="lot_use_not_zero"),
            models.UniqueConstraint(fields=["entry", "lot"], name="lot_use_once_per_entry"),
        ]

    def __str__(self) -> str:
        return f"{self.entry_id} ← {self.lot_id}: {self.amount}"


class EarningRule(TimeStampedModel):
    """How members earn points, edited by HQ. Three kinds:

    rate: points per yuan paid (after discounts and points deduction) — the base;
    multiplier: times the base points of matching lines (0 excludes them), e.g. double points
    on Wednesdays (member day) or on a category;
    bonus: fixed points for an event (joining, first purchase, completing the profile).
    """

    class Kind(models.TextChoices):
        RATE = "rate", _("points per yuan")
        MULTIPLIER = "multiplier", _("multiplier")
        BONUS = "bonus", _("bonus for an event")

    class Event(models.TextChoices):
        JOIN = "join", _("joining")
        FIRST_PURCHASE = "first_purchase", _("first purchase")
        PROFILE_COMPLETE = "profile_complete", _("completing the profile")

    class Period(models.TextChoices):
        DAY = "day", _("a day")
        WEEK = "week", _("a week")
        MONTH = "month", _("a month")
        YEAR = "year", _("a year")
        EVER = "ever", _("ever")

    name = models.CharField(_("name"), max_length=50)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind)
    active = models.BooleanField(_("active"), default=True)
    points_per_yuan = models.DecimalField(
        _("points per yuan"), max_digits=6, decimal_places=2, null=True, blank=True
    )
    multiplier = models.DecimalField(
        _("multiplier"), max_digits=4, decimal_places=2, null=True, blank=True
    )
    event = models.CharField(_("event"), max_length=20, choices=Event, blank=True)
    points = models.PositiveIntegerField(_("points"), null=True, blank=True)
    skus = models.TextField(
        _("only these SKUs"), blank=True, help_text=_("Comma-separated; empty: every SKU.")
    )
    categories = models.TextField(
        _("only these categories"), blank=True, help_text=_("Comma-separated; empty: all.")
    )
    weekdays = models.CharField(
        _("only on these weekdays"),
        max_length=20,
        blank=True,
        help_text=_("1 = Monday … 7 = Sunday, comma-separated; e.g. 3 for a Wednesday member day."),
    )
    stores = models.ManyToManyField(
        Store, verbose_name=_("only in these stores"), blank=True, related_name="+"
    )
    segments = models.ManyToManyField(
        "members.Segment", verbose_name=_("only for these segments"), blank=True, related_name="+"
    )
    tiers = models.ManyToManyField(
        "tiers.Tier", verbose_name=_("only for these tiers"), blank=True, related_name="+"
    )
    starts_at = models.DateTimeField(_("from"), null=True, blank=True)
    ends_at = models.DateTimeField(_("until"), null=True, blank=True)
    limit_count = models.PositiveIntegerField(_("times per member"), null=True, blank=True)
    limit_period = models.CharField(_("per"), max_length=8, choices=Period, blank=True)
    per_order_cap = models.PositiveIntegerField(_("most points per order"), null=True, blank=True)

    class Meta:
        verbose_name = _("earning rule")
        verbose_name_plural = _("earning rules")
        ordering = ["kind", "name"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(kind="rate") | Q(points_per_yuan__gt=0), name="rate_rule_has_a_rate"
            ),
            models.CheckConstraint(
                condition=~Q(kind="multiplier") | Q(multiplier__gte=0),
                name="multiplier_rule_has_a_factor",
            ),
            models.CheckConstraint(
                condition=~Q(kind="bonus") | Q(points__gt=0) & ~Q(event=""),
                name="bonus_rule_has_event_and_points",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class RuleUsage(models.Model):
    """How often a rule gave a member points in a period, for its limit."""

    rule = models.ForeignKey(EarningRule, on_delete=models.CASCADE, related_name="usages")
    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="+")
    period = models.CharField(max_length=12)  # 2026-11-25, 2026-W48, 2026-11, 2026, ever
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["rule", "member", "period"], name="rule_usage_once")
        ]

    def __str__(self) -> str:
        return f"{self.rule_id}/{self.member_id}/{self.period}: {self.count}"


class ManualAction(models.Model):
    """积分手工操作: HQ adds or takes points by hand, or voids (reverses) a ledger entry.
    Within the requester's daily cap it moves at once; above it, it waits until a second
    person with the permission approves it (apps.points.manual)."""

    class Kind(models.TextChoices):
        ADJUST = "adjust", _("adjustment")
        VOID = "void", _("void of an entry")

    class Status(models.TextChoices):
        APPLIED = "applied", _("done within the cap")
        PENDING = "pending", _("waiting for approval")
        APPROVED = "approved", _("approved and done")
        REJECTED = "rejected", _("rejected")

    kind = models.CharField(_("kind"), max_length=16, choices=Kind)
    status = models.CharField(_("status"), max_length=16, choices=Status)
    member = models.ForeignKey(
        Member, verbose_name=_("member"), on_delete=models.PROTECT, related_name="+"
    )
    # The member's home store when it was asked: the store the action is counted for.
    store = models.ForeignKey(
        Store,
        verbose_name=_("store"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    points = models.IntegerField(
        _("points"), help_text=_("What the member's balance gains (or loses, below zero).")
    )
    voids = models.ForeignKey(
        Entry,
        verbose_name=_("entry voided"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    reason = models.CharField(_("reason"), max_length=100)
    key = models.CharField(max_length=120, unique=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requested by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
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
    entry = models.ForeignKey(
        Entry,
        verbose_name=_("entry written"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        verbose_name = _("manual points action")
        verbose_name_plural = _("manual points actions")
        ordering = ["-id"]
        permissions = [("approve_manualaction", _("Can approve manual points actions above a cap"))]
        indexes = [
            models.Index(fields=["requested_by", "requested_at"], name="manual_by_day"),
            models.Index(fields=["requested_at"], name="manual_at"),
        ]
        constraints = [
            models.CheckConstraint(condition=~Q(points=0), name="manual_points_nonzero"),
            models.CheckConstraint(
                condition=Q(kind="adjust", voids__isnull=True)
                | Q(kind="void", voids__isnull=False),
                name="manual_void_names_entry",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.get_kind_display()} {self.points:+d}"


class ManualActionCap(models.Model):
    """How many points (added, taken or voided, counted together) a role's members may move
    by hand a day without a second person's approval. A person in several roles has the
    largest of their caps; one in none has POINTS_MANUAL_DAILY_CAP."""

    group = models.OneToOneField(
        "auth.Group", verbose_name=_("role"), on_delete=models.CASCADE, related_name="+"
    )
    daily_points = models.PositiveIntegerField(_("points a day"))

    class Meta:
        verbose_name = _("manual points cap")
        verbose_name_plural = _("manual points caps")
        ordering = ["group__name"]

    def __str__(self) -> str:
        return f"{self.group.name}: {self.daily_points}"


class PointsWindow(models.Model):
    """主题兑换期 (e.g. 感恩回馈月): dates within which members may use points one way. While
    any active window exists for a use, points are used that way only within one."""

    class Use(models.TextChoices):
        EXCHANGE = "exchange", _("Exchanging points for coupons")
        DEDUCTION = "deduction", _("Paying with points at checkout")

    name = models.CharField(_("name"), max_length=100)
    use = models.CharField(_("use"), max_length=16, choices=Use)
    starts_on = models.DateField(_("first day"))
    ends_on = models.DateField(_("last day"))
    active = models.BooleanField(
        _("active"),
        default=True,
        help_text=_("With no active window for a use, points are used that way any day."),
    )

    class Meta:
        verbose_name = _("points window")
        verbose_name_plural = _("points windows")
        ordering = ["starts_on", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_on__gte=F("starts_on")), name="points_window_ends_after_start"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} {self.starts_on}–{self.ends_on}"

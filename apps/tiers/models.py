"""会员等级 and 成长值: tiers earned by growth value, its own ledger that is never spent."""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.members.models import Member


class Tier(models.Model):
    code = models.SlugField(_("code"), max_length=20, unique=True)
    name = models.CharField(_("name"), max_length=30)
    rank = models.PositiveSmallIntegerField(
        _("rank"), unique=True, help_text=_("0 is the tier every member starts in.")
    )
    growth_threshold = models.PositiveIntegerField(_("growth value to reach it"))
    discount_percent = models.DecimalField(
        _("discount (%)"),
        max_digits=5,
        decimal_places=2,
        default=0,
        validators=[MinValueValidator(0), MaxValueValidator(100)],
    )
    points_multiplier = models.DecimalField(
        _("points multiplier"), max_digits=4, decimal_places=2, default=1
    )
    birthday_gift = models.CharField(_("birthday gift"), max_length=100, blank=True)
    free_shipping = models.BooleanField(_("free shipping"), default=False)
    members_only_access = models.BooleanField(_("members-only products"), default=False)

    class Meta:
        verbose_name = _("tier")
        verbose_name_plural = _("tiers")
        ordering = ["rank"]
        constraints = [
            models.CheckConstraint(
                condition=Q(discount_percent__gte=0, discount_percent__lte=100),
                name="tier_discount_percent",
            ),
            models.CheckConstraint(
                condition=Q(points_multiplier__gte=0), name="tier_points_multiplier"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class TierChannelBenefit(models.Model):
    """会籍: a tier's discount that differs in one channel (e.g. only in stores)."""

    class Channel(models.TextChoices):
        STORE = "store", _("stores")
        MINIPROGRAM = "miniprogram", _("mini-program")
        MALL = "mall", _("points mall")

    tier = models.ForeignKey(Tier, on_delete=models.CASCADE, related_name="channel_benefits")
    channel = models.CharField(_("channel"), max_length=16, choices=Channel)
    discount_percent = models.DecimalField(
        _("discount (%)"),
        max_digits=5,
        decimal_places=2,
        validators=[MinValueValidator(0), MaxValueValidator(100)],
    )

    class Meta:
        verbose_name = _("channel benefit")
        verbose_name_plural = _("channel benefits")
        constraints = [
            models.UniqueConstraint(fields=["tier", "channel"], name="tier_benefit_per_channel")
        ]

    def __str__(self) -> str:
        return f"{self.tier} · {self.get_channel_display()}"


class MemberTier(models.Model):
    """A member's tier now. A manual tier set by HQ is a floor until its date."""

    member = models.OneToOneField(
        Member, on_delete=models.CASCADE, primary_key=True, related_name="tier_state"
    )
    tier = models.ForeignKey(Tier, on_delete=models.PROTECT, related_name="+")
    since = models.DateTimeField(_("since"), default=timezone.now)
    floor = models.ForeignKey(
        Tier,
        verbose_name=_("manual floor"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    floor_until = models.DateField(_("floor until"), null=True, blank=True)
    review_on = models.DateField(_("next review"), null=True, blank=True)
    grace_until = models.DateField(_("keeps the tier until"), null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["review_on"], name="member_tier_review_due")]

    def __str__(self) -> str:
        return f"{self.member_id}: {self.tier}"


# Causes that give growth once each: their entry is unique by (cause kind, cause id).
GROWTH_ONCE = (
    "order",
    "refund",
    "join",
    "profile_complete",
    "demo",
    "referral",
    "referral_back",
)


class GrowthEntry(models.Model):
    """成长值 earned (+) or taken back (−). Not spendable; it only decides the tier."""

    class Kind(models.TextChoices):
        ORDER = "order", _("purchase")
        REFUND = "refund", _("refund")
        ACTION = "action", _("action")
        ADJUST = "adjust", _("adjustment")

    class CauseKind(models.TextChoices):
        ORDER = "order", _("order")  # id: the order's
        REFUND = "refund", _("refund")  # id: the refund's
        JOIN = "join", _("joining")  # id: the member's
        PROFILE_COMPLETE = "profile_complete", _("completing the profile")  # id: the member's
        ADMIN = "admin", _("HQ by hand")
        DEMO = "demo", _("demo data")  # id: the member's, for the demo's own grant
        CAMPAIGN = "campaign", _("a campaign")  # id: the campaign occurrence's
        REFERRAL = "referral", _("referral reward")  # id: the ReferralReward's
        # id: the ReferralReward's, taken back after a refund
        REFERRAL_BACK = "referral_back", _("referral reward taken back")

    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="growth_entries")
    kind = models.CharField(_("kind"), max_length=16, choices=Kind)
    amount = models.IntegerField(_("growth value"))
    # A key a form supplied; the causes that give growth once need none: their cause is unique.
    key = models.CharField(max_length=120, unique=True, null=True, blank=True)
    # What caused it, as (kind, id); tiers sit below orders, so the id is no foreign key.
    cause_kind = models.CharField(_("cause"), max_length=16, choices=CauseKind)
    cause_id = models.BigIntegerField(_("cause id"), null=True, blank=True)
    description = models.CharField(_("description"), max_length=200)
    created_at = models.DateTimeField(_("at"), default=timezone.now)

    class Meta:
        verbose_name = _("growth entry")
        verbose_name_plural = _("growth ledger")
        ordering = ["-id"]
        indexes = [models.Index(fields=["member", "created_at"], name="growth_member_time")]
        constraints = [
            models.CheckConstraint(condition=~Q(amount=0), name="growth_amount_not_zero"),
            models.CheckConstraint(
                condition=Q(cause_id__isnull=False)
                | ~Q(cause_kind__in=["order", "refund", "join", "profile_complete"]),
                name="growth_cause_has_id",
            ),
            # An order earns growth once and a refund takes some back once; joining and
            # completing the profile give a member growth once; so does the demo.
            models.UniqueConstraint(
                fields=["cause_kind", "cause_id"],
                condition=Q(cause_kind__in=GROWTH_ONCE),
                name="growth_once_per_cause",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.member_id} {self.amount:+d}"


class TierChange(models.Model):
    class Reason(models.TextChoices):
        UPGRADE = "upgrade", _("upgrade")
        DOWNGRADE = "downgrade", _("downgrade at review")
        MANUAL = "manual", _("set by HQ")

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="tier_changes")
    from_tier = models.ForeignKey(Tier, on_delete=models.PROTECT, related_name="+")
    to_tier = models.ForeignKey(Tier, on_delete=models.PROTECT, related_name="+")
    reason = models.CharField(_("reason"), max_length=16, choices=Reason)
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("at"), default=timezone.now)

    class Meta:
        verbose_name = _("tier change")
        verbose_name_plural = _("tier changes")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.member_id}: {self.from_tier} → {self.to_tier}"

"""Messages to members: the templates HQ writes, the outbox of messages, and the one-time
WeChat subscriptions each member accepted."""

import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.core.models import TimeStampedModel
from apps.marketing.rules import VARIABLES, unknown_variables, wechat_fields
from apps.members.models import Member


def _salt() -> str:
    return secrets.token_hex(8)


class Channel(models.TextChoices):
    SMS = "sms", _("text message")
    WECHAT = "wechat", _("WeChat subscription message")
    INBOX = "inbox", _("inbox")


class MessageTemplate(TimeStampedModel):
    """消息模板: what one kind of message says in one channel, with {variables} filled in for
    each member (apps.marketing.rules.VARIABLES)."""

    class Purpose(models.TextChoices):
        MARKETING = "marketing", _("marketing")
        TRANSACTIONAL = "transactional", _("transactional (codes, order and pickup notices)")

    name = models.CharField(_("name"), max_length=100, unique=True)
    channel = models.CharField(_("channel"), max_length=16, choices=Channel)
    purpose = models.CharField(
        _("purpose"),
        max_length=16,
        choices=Purpose,
        default=Purpose.MARKETING,
        help_text=_(
            "Marketing messages go only to members who agreed to them, outside quiet hours "
            "and within the frequency caps; transactional ones always go."
        ),
    )
    title = models.CharField(_("title"), max_length=100, blank=True)
    body = models.TextField(_("text"))
    link = models.CharField(
        _("link"), max_length=500, blank=True, help_text=_("The page the message opens.")
    )
    wechat_template_id = models.CharField(
        _("WeChat template id"),
        max_length=64,
        blank=True,
        help_text=_("The subscription message template's id in the mini-program's console."),
    )
    wechat_fields = models.TextField(
        _("WeChat template's fields"),
        blank=True,
        help_text=_(
            "One field of the WeChat template a line, as its name, a colon and its text, e.g. "
            "“thing1: {coupon}”. Texts longer than WeChat allows are cut."
        ),
    )
    sms_template_id = models.CharField(
        _("SMS template id"),
        max_length=32,
        blank=True,
        help_text=_(
            "The text's template id approved by the SMS provider; its parameters are this "
            "text's variables in order."
        ),
    )
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("message template")
        verbose_name_plural = _("message templates")
        constraints = [
            models.CheckConstraint(
                condition=(Q(channel="wechat") & ~Q(wechat_template_id=""))
                | (~Q(channel="wechat") & Q(wechat_template_id="")),
                name="message_template_wechat_id_for_wechat",
            ),
        ]

    def __str__(self):
        return self.name

    def clean(self):
        problems = {}
        for field in ("title", "body", "link"):
            if unknown := unknown_variables(getattr(self, field)):
                problems[field] = _(
                    "Unknown variables: %(unknown)s. A message may use %(known)s."
                ) % {
                    "unknown": "、".join(f"{{{name}}}" for name in unknown),
                    "known": "、".join(f"{{{name}}}" for name in VARIABLES),
                }
        if self.channel == Channel.WECHAT and not self.wechat_template_id:
            problems["wechat_template_id"] = _("A WeChat message needs its template id.")
        if self.channel != Channel.WECHAT and self.wechat_template_id:
            problems["wechat_template_id"] = _("Only a WeChat message has a WeChat template id.")
        if problem := self._wechat_fields_problem():
            problems["wechat_fields"] = problem
        if problems:
            raise ValidationError(problems)

    def _wechat_fields_problem(self) -> str | None:
        if self.channel != Channel.WECHAT:
            return _("Only a WeChat message has WeChat fields.") if self.wechat_fields else None
        try:
            fields = wechat_fields(self.wechat_fields)
        except ValueError as exc:
            return _("“%(line)s” is not a WeChat field: write it as “thing1: text”.") % {
                "line": exc.args[0]
            }
        if not fields:
            return _("A WeChat message needs its template's fields.")
        if unknown := unknown_variables("".join(text for _key, text in fields)):
            return _("Unknown variables: %(unknown)s.") % {
                "unknown": "、".join(f"{{{name}}}" for name in unknown)
            }
        return None


class Message(models.Model):
    """消息: one message to one member, queued once per template and cause, then sent by the
    outbox job (apps.marketing.outbox) or recorded with the reason it was not."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("queued")
        SENDING = "sending", _("sending")
        SENT = "sent", _("sent")
        FAILED = "failed", _("failed")
        REFUSED = "refused", _("not sent")

    class Reason(models.TextChoices):
        NONE = "", _("—")
        CLOSED = "closed", _("the account is closed")
        CHANNEL_OFF = "channel_off", _("this site sends nothing on this channel")
        NO_CONSENT = "no_consent", _("no marketing consent")
        NO_PHONE = "no_phone", _("no mobile number")
        NO_OPENID = "no_openid", _("not signed in with WeChat")
        NO_SUBSCRIPTION = "no_subscription", _("no WeChat subscription left")
        QUIET_HOURS = "quiet_hours", _("held for quiet hours")
        CAP_CHANNEL_DAY = "cap_channel_day", _("the channel's daily cap")
        CAP_CHANNEL_WEEK = "cap_channel_week", _("the channel's weekly cap")
        CAP_DAY = "cap_day", _("the daily cap")
        CAP_WEEK = "cap_week", _("the weekly cap")
        PROVIDER = "provider", _("the provider refused it")
        INTERRUPTED = "interrupted", _("interrupted while sending; not sent again")

    class Delivery(models.TextChoices):
        UNKNOWN = "", _("—")
        DELIVERED = "delivered", _("delivered")
        UNDELIVERED = "undelivered", _("not delivered")

    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="messages")
    template = models.ForeignKey(
        MessageTemplate, verbose_name=_("template"), on_delete=models.PROTECT, related_name="+"
    )
    channel = models.CharField(_("channel"), max_length=16, choices=Channel)
    marketing = models.BooleanField(_("marketing"))
    # What the message is about, once per member and template: (kind, id) of its cause.
    cause_kind = models.CharField(_("cause"), max_length=32)
    cause_id = models.BigIntegerField(_("cause id"))
    title = models.CharField(_("title"), max_length=200, blank=True)
    body = models.TextField(_("text"))
    link = models.CharField(_("link"), max_length=500, blank=True)
    values = models.JSONField(_("variables"), default=dict)
    status = models.CharField(_("status"), max_length=16, choices=Status, default=Status.QUEUED)
    reason = models.CharField(_("reason"), max_length=32, choices=Reason, blank=True)
    error = models.CharField(_("provider's error"), max_length=200, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    due_at = models.DateTimeField(_("due at"), default=timezone.now)
    # When the sending job took it to send: what the caps count, from then on.
    claimed_at = models.DateTimeField(_("claimed at"), null=True, blank=True)
    created_at = models.DateTimeField(_("queued at"), default=timezone.now)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)
    # The provider's id of a sent text or WeChat message (Tencent Cloud's SerialNo, WeChat's
    # msgid), which its delivery receipt names; then what the receipt said.
    provider_id = models.CharField(_("provider's id"), max_length=64, blank=True)
    delivery = models.CharField(
        _("delivery to the phone"),
        max_length=16,
        choices=Delivery,
        blank=True,
        default=Delivery.UNKNOWN,
    )
    delivered_at = models.DateTimeField(_("delivery reported at"), null=True, blank=True)

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        constraints = [
            models.UniqueConstraint(
                fields=["member", "template", "cause_kind", "cause_id"],
                name="message_once_per_cause",
            ),
        ]
        indexes = [
            models.Index(fields=["due_at"], name="message_due", condition=Q(status="queued")),
            models.Index(
                fields=["claimed_at"], name="message_sending", condition=Q(status="sending")
            ),
            models.Index(
                fields=["member", "-id"],
                name="message_inbox",
                condition=Q(channel="inbox", status="sent"),
            ),
            models.Index(
                fields=["member", "claimed_at"],
                name="message_marketing_counted",
                condition=Q(marketing=True, status__in=["sending", "sent"]),
            ),
            models.Index(
                fields=["provider_id"], name="message_provider_id", condition=~Q(provider_id="")
            ),
        ]

    def __str__(self):
        return f"{self.get_channel_display()} #{self.pk}"


class DeliveryReceipt(models.Model):
    """回执: a provider's report that a message it sent reached the phone or did not, kept
    once by the provider's id (apps.marketing.receipts): the same receipt may come twice,
    and one may come before the sending job has recorded the id on its message, which then
    takes it."""

    provider_id = models.CharField(_("provider's id"), max_length=64, unique=True)
    delivered = models.BooleanField(_("delivered"))
    error = models.CharField(_("provider's reason"), max_length=200, blank=True)
    reported_at = models.DateTimeField(_("reported at"))
    # indexed: the purge takes the oldest batch by batch (receipts_purge)
    received_at = models.DateTimeField(_("received at"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("delivery receipt")
        verbose_name_plural = _("delivery receipts")

    def __str__(self):
        return self.provider_id


class WechatSubscription(models.Model):
    """The one-time WeChat subscriptions a member accepted for one WeChat template and has
    not yet been sent (WeChat allows one message per acceptance)."""

    member = models.ForeignKey(
        Member, on_delete=models.PROTECT, related_name="wechat_subscriptions"
    )
    template_id = models.CharField(_("WeChat template id"), max_length=64)
    remaining = models.PositiveIntegerField(_("remaining"), default=0)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("WeChat subscription")
        verbose_name_plural = _("WeChat subscriptions")
        constraints = [
            models.UniqueConstraint(
                fields=["member", "template_id"], name="wechat_subscription_once"
            ),
        ]

    def __str__(self):
        return f"{self.template_id} × {self.remaining}"


class ControlGroup(models.Model):
    """全局对照组: the one row of HQ's global control group, a stable share of members that
    no campaign reaches (apps.marketing.audience.in_share, by a hash of the member's id)."""

    percent = models.DecimalField(
        _("share of members (%)"),
        max_digits=4,
        decimal_places=1,
        default=0,
        validators=[MinValueValidator(0), MaxValueValidator(50)],
        help_text=_("Members in this share get no marketing campaign; the same ones each time."),
    )
    salt = models.CharField(_("salt"), max_length=32, default=_salt, editable=False)

    class Meta:
        verbose_name = _("global control group")
        verbose_name_plural = _("global control group")

    def __str__(self):
        return f"{self.percent}%"


class Campaign(TimeStampedModel):
    """营销活动: who (the audience), when (an event or a schedule), what (its actions),
    within what (per-member limits, budgets), run by apps.marketing.campaigns."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("draft")
        SCHEDULED = "scheduled", _("scheduled")
        RUNNING = "running", _("running")
        PAUSED = "paused", _("paused")
        ENDED = "ended", _("ended")

    class Audience(models.TextChoices):
        ALL = "all", _("all members")
        SEGMENT = "segment", _("a segment")
        TIER = "tier", _("a tier")
        STORE = "store", _("a store's members")
        DISTRIBUTOR = "distributor", _("a dealer's members")

    class Trigger(models.TextChoices):
        JOINED = "joined", _("a member joins")
        FIRST_ORDER = "first_order", _("a member's first order")
        ORDER_PAID = "order_paid", _("an order is paid")
        TIER_UP = "tier_up", _("a member moves up a tier")
        TIER_WARNING = "tier_warning", _("a member is warned of a tier downgrade")
        COUPONS_EXPIRING = "coupons_expiring", _("a member's coupons are about to expire")
        BIRTHDAY_DAY = "birthday_day", _("birthday (on the day)")
        BIRTHDAY_MONTH = "birthday_month", _("birthday (in the month)")
        DORMANT = "dormant", _("dormant for N days")
        POINTS_EXPIRING = "points_expiring", _("points expire within N days")
        SEGMENT_ENTERED = "segment_entered", _("a member enters the segment")
        ONCE = "once", _("once, at the start")
        WEEKLY = "weekly", _("member day every week")
        MONTHLY = "monthly", _("member day every month")

    class Period(models.TextChoices):
        TOTAL = "total", _("the whole campaign")
        DAY = "day", _("each day")
        WEEK = "week", _("each week")
        MONTH = "month", _("each month")

    name = models.CharField(_("name"), max_length=100, unique=True)
    status = models.CharField(
        _("status"), max_length=16, choices=Status, default=Status.DRAFT, editable=False
    )
    audience = models.CharField(_("audience"), max_length=16, choices=Audience, default="all")
    segment = models.ForeignKey(
        "members.Segment",
        verbose_name=_("segment"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    tier = models.ForeignKey(
        "tiers.Tier",
        verbose_name=_("tier"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    store = models.ForeignKey(
        "stores.Store",
        verbose_name=_("store"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    distributor = models.ForeignKey(
        "distributors.Distributor",
        verbose_name=_("dealer"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    trigger = models.CharField(_("trigger"), max_length=20, choices=Trigger)
    days = models.PositiveIntegerField(
        _("N days"),
        null=True,
        blank=True,
        help_text=_(
            "Dormant: no visit, sign-in or purchase for this many days. Points expiring: "
            "points that expire within this many days."
        ),
    )
    weekday = models.PositiveSmallIntegerField(
        _("weekday"),
        null=True,
        blank=True,
        choices=[(day, str(day)) for day in range(1, 8)],
        help_text=_("1 is Monday."),
    )
    month_day = models.PositiveSmallIntegerField(
        _("day of the month"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(28)],
    )
    hour = models.PositiveSmallIntegerField(
        _("hour it runs"), default=10, validators=[MaxValueValidator(23)]
    )
    starts_at = models.DateTimeField(_("starts at"), default=timezone.now)
    ends_at = models.DateTimeField(_("ends at"), null=True, blank=True)
    min_payable = models.DecimalField(
        _("order of at least"),
        max_digits=10,
        decimal_places=2,
        null=True,
        blank=True,
        help_text=_("Order triggers only: smaller orders do not count."),
    )
    consent_only = models.BooleanField(_("only members who agreed to marketing"), default=False)
    holdout_percent = models.DecimalField(
        _("holdout (%)"),
        max_digits=4,
        decimal_places=1,
        default=0,
        validators=[MinValueValidator(0), MaxValueValidator(50)],
        help_text=_("A random share of the audience that gets nothing, to measure the uplift."),
    )
    salt = models.CharField(_("salt"), max_length=32, default=_salt, editable=False)
    budget_coupons = models.PositiveIntegerField(_("coupons budget"), null=True, blank=True)
    budget_points = models.PositiveIntegerField(_("points budget"), null=True, blank=True)
    budget_messages = models.PositiveIntegerField(_("messages budget"), null=True, blank=True)
    budget_period = models.CharField(
        _("budget per"), max_length=8, choices=Period, default=Period.TOTAL
    )
    schedule = models.OneToOneField(
        "django_celery_beat.PeriodicTask",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
    )

    class Meta:
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")
        permissions = [("run_campaign", _("Can start, pause and end campaigns"))]

    def __str__(self):
        return self.name

    def clean(self):
        needs = {
            self.Audience.SEGMENT: "segment",
            self.Audience.TIER: "tier",
            self.Audience.STORE: "store",
            self.Audience.DISTRIBUTOR: "distributor",
        }
        problems = {}
        if (field := needs.get(self.audience)) and not getattr(self, f"{field}_id"):
            problems[field] = _("Choose who the campaign is for.")
        if self.trigger in (self.Trigger.DORMANT, self.Trigger.POINTS_EXPIRING) and not self.days:
            problems["days"] = _("Say how many days.")
        if self.trigger == self.Trigger.SEGMENT_ENTERED and self.audience != self.Audience.SEGMENT:
            problems["audience"] = _("Entering a segment needs a segment as the audience.")
        if self.trigger == self.Trigger.WEEKLY and not self.weekday:
            problems["weekday"] = _("Choose the member day's weekday.")
        if self.trigger == self.Trigger.MONTHLY and not self.month_day:
            problems["month_day"] = _("Choose the member day's day of the month.")
        if self.ends_at and self.ends_at <= self.starts_at:
            problems["ends_at"] = _("A campaign ends after it starts.")
        if problems:
            raise ValidationError(problems)


class CampaignAction(models.Model):
    """One thing a campaign gives each member it reaches."""

    class Kind(models.TextChoices):
        COUPON = "coupon", _("issue a coupon")
        POINTS = "points", _("award points")
        GROWTH = "growth", _("award growth value")
        MESSAGE = "message", _("send a message")
        TAG_ADD = "tag_add", _("add a tag")
        TAG_REMOVE = "tag_remove", _("remove a tag")

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="actions")
    kind = models.CharField(_("action"), max_length=16, choices=Kind)
    coupon_template = models.ForeignKey(
        "coupons.CouponTemplate",
        verbose_name=_("coupon"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    amount = models.PositiveIntegerField(_("points or growth value"), null=True, blank=True)
    message_template = models.ForeignKey(
        MessageTemplate,
        verbose_name=_("message"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    tag = models.ForeignKey(
        "members.Tag",
        verbose_name=_("tag"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    per_member_limit = models.PositiveIntegerField(
        _("at most per member"),
        null=True,
        blank=True,
        help_text=_("Times one member gets this over the whole campaign; empty: once each time."),
    )

    class Meta:
        verbose_name = _("action")
        verbose_name_plural = _("actions")

    def __str__(self):
        return self.get_kind_display()

    def clean(self):
        needs = {
            self.Kind.COUPON: "coupon_template",
            self.Kind.POINTS: "amount",
            self.Kind.GROWTH: "amount",
            self.Kind.MESSAGE: "message_template",
            self.Kind.TAG_ADD: "tag",
            self.Kind.TAG_REMOVE: "tag",
        }
        field = needs.get(self.kind)
        if field and not getattr(self, field if field == "amount" else f"{field}_id"):
            raise ValidationError({field: _("This action needs it.")})


class CampaignOccurrence(models.Model):
    """One time a campaign fires: a member day's date, a year's birthdays, one event. Its
    key makes every action once per member and occurrence."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="occurrences")
    key = models.CharField(max_length=40)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["campaign", "key"], name="campaign_occurrence_once")
        ]

    def __str__(self):
        return self.key


class CampaignMember(models.Model):
    """A member an occurrence of a campaign was for: reached, or held out (given nothing)
    to measure what the campaign earned."""

    class Group(models.TextChoices):
        REACHED = "reached", _("reached")
        HOLDOUT = "holdout", _("holdout")

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="members")
    occurrence = models.ForeignKey(CampaignOccurrence, on_delete=models.CASCADE, related_name="+")
    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="+")
    group = models.CharField(_("group"), max_length=8, choices=Group)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["occurrence", "member"], name="campaign_member_once_per_occurrence"
            )
        ]
        indexes = [models.Index(fields=["campaign", "group"], name="campaign_member_group")]

    def __str__(self):
        return f"{self.member_id} {self.group}"


class CampaignGrant(models.Model):
    """发放记录: one action given to one member for one occurrence; its unique key is what
    makes a retried or concurrent run give nothing twice. `cost`: coupons, points or
    messages it spent of the budget."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="grants")
    occurrence = models.ForeignKey(CampaignOccurrence, on_delete=models.CASCADE, related_name="+")
    # No index of its own: the two below lead with it, and the planner, finding a new
    # action's grants in no statistics, took a lone one over (action, member) for a chunk's
    # range and read every grant of the action.
    action = models.ForeignKey(
        CampaignAction, on_delete=models.PROTECT, related_name="grants", db_index=False
    )
    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="+")
    cost = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "member", "occurrence", "action"],
                name="campaign_grant_once",
            )
        ]
        indexes = [
            models.Index(fields=["action", "member"], name="campaign_grant_member"),
            models.Index(fields=["action", "created_at"], name="campaign_grant_spent"),
        ]

    def __str__(self):
        return f"{self.action_id} → {self.member_id}"


class CampaignSpend(models.Model):
    """What a campaign spent of one budget (coupons, points or messages) in one period: the
    counter each run takes its budget from by a conditional UPDATE
    (apps.marketing.campaigns.budget_take), made from the grants when the period first
    spends. `period`: "total", or the day the period began."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=16, choices=CampaignAction.Kind)
    period = models.CharField(max_length=10)
    spent = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "kind", "period"], name="campaign_spend_once_per_period"
            )
        ]

    def __str__(self):
        return f"{self.kind} {self.period}: {self.spent}"


# Member care by stores (会员关怀): HQ's tasks, and each store's daily list of calls.


class CareTask(TimeStampedModel):
    """关怀任务: whom HQ asks every store to call, with what to say. `days` is the kind's
    parameter: not seen for that many days, joined within that many days."""

    class Kind(models.TextChoices):
        DORMANT = "dormant", _("dormant members (not seen for N days)")
        BIRTHDAY_WEEK = "birthday_week", _("birthdays this week")
        WELCOME = "welcome", _("new members (joined within N days)")

    name = models.CharField(_("name"), max_length=100, unique=True)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind)
    days = models.PositiveSmallIntegerField(
        _("days"),
        default=0,
        help_text=_("Dormant: not seen for this many days. New members: joined within them."),
    )
    script = models.TextField(_("script"), help_text=_("What the guide says on the call."))
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("care task")
        verbose_name_plural = _("care tasks")

    def __str__(self):
        return self.name

    def clean(self):
        if self.kind != self.Kind.BIRTHDAY_WEEK and not 1 <= self.days <= 365:
            raise ValidationError({"days": _("Give a number of days from 1 to 365.")})


class CareCall(models.Model):
    """One member on one store's list for one day, for one care task; done with an outcome."""

    class Outcome(models.TextChoices):
        NONE = "", _("—")
        REACHED = "reached", _("talked with them")
        NO_ANSWER = "no_answer", _("no answer")
        DECLINED = "declined", _("did not want to talk")
        WRONG_NUMBER = "wrong_number", _("wrong number")

    task = models.ForeignKey(CareTask, on_delete=models.PROTECT, related_name="calls")
    store = models.ForeignKey(
        "stores.Store", verbose_name=_("store"), on_delete=models.PROTECT, related_name="care_calls"
    )
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="care_calls")
    day = models.DateField(_("day"))
    outcome = models.CharField(_("outcome"), max_length=16, choices=Outcome, blank=True)
    note = models.CharField(_("note"), max_length=200, blank=True)
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("done by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        verbose_name = _("care call")
        verbose_name_plural = _("care calls")
        constraints = [
            models.UniqueConstraint(fields=["task", "member", "day"], name="care_call_once_a_day"),
        ]
        indexes = [
            models.Index(fields=["store", "day"], name="care_call_store_day"),
            models.Index(fields=["member", "task", "-day"], name="care_call_member_task"),
        ]

    def __str__(self):
        return f"{self.task} · {self.day}"

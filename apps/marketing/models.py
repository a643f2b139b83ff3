"""Messages to members: the templates HQ writes, the outbox of messages, and the one-time
WeChat subscriptions each member accepted."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.core.models import TimeStampedModel
from apps.marketing.rules import VARIABLES, unknown_variables
from apps.members.models import Member


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
        if problems:
            raise ValidationError(problems)


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
        ]

    def __str__(self):
        return f"{self.get_channel_display()} #{self.pk}"


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

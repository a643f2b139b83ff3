from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.contrib.contenttypes.models import ContentType
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.core.phones import MobileField


class TimeStampedModel(models.Model):
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        abstract = True


class User(AbstractUser):
    """A person who signs in to the HQ console or a store dashboard (never a member).

    `is_staff` means HQ: the admin is the HQ console and HQ sees every store. Store and
    dealer people are linked to their store or dealer by stores.Staff and are not is_staff.
    """

    phone = MobileField(_("mobile"), blank=True)

    class Meta(AbstractUser.Meta):
        verbose_name = _("account")
        verbose_name_plural = _("accounts")

    def get_full_name(self) -> str:
        """Chinese names are family name first, with no space: 王芳."""
        if (self.last_name + self.first_name).isascii():
            return super().get_full_name()
        return f"{self.last_name}{self.first_name}"

    @property
    def display_name(self) -> str:
        return self.get_full_name() or self.username


class IdempotencyKey(models.Model):
    """The first answer to a retried POST (API.md, conventions), kept for replays.

    The row is inserted before the write and committed with it; a concurrent request with
    the same key waits on the unique index and then replays what the first one stored.
    """

    scope = models.CharField(_("client"), max_length=64)
    key = models.CharField(_("key"), max_length=255)
    fingerprint = models.CharField(_("request fingerprint"), max_length=64)
    response_status = models.PositiveSmallIntegerField(_("response status"), null=True)
    # The rendered JSON, as text: jsonb would reorder its keys, and a replay is byte for byte.
    response_body = models.TextField(_("response body"), blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("idempotency key")
        verbose_name_plural = _("idempotency keys")
        constraints = [
            models.UniqueConstraint(fields=["scope", "key"], name="idempotency_key_unique")
        ]

    def __str__(self) -> str:
        return f"{self.scope} {self.key}"


class Event(models.Model):
    """A fact written to the outbox in the transaction that made it true (DESIGN.md, Events)."""

    class Status(models.TextChoices):
        PENDING = "pending", _("pending")
        DONE = "done", _("done")
        FAILED = "failed", _("failed")

    name = models.CharField(_("event"), max_length=64, db_index=True)
    payload = models.JSONField(_("payload"), default=dict, encoder=DjangoJSONEncoder)
    status = models.CharField(_("status"), max_length=16, choices=Status, default=Status.PENDING)
    attempts = models.PositiveIntegerField(_("failed attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt at"))
    last_error = models.TextField(_("last error"), blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    handled_at = models.DateTimeField(_("handled at"), null=True, blank=True)

    class Meta:
        verbose_name = _("event")
        verbose_name_plural = _("events")
        ordering = ["-id"]
        indexes = [
            models.Index(
                fields=["next_attempt_at"], name="event_pending_due", condition=Q(status="pending")
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} #{self.pk}"


class EventHandling(models.Model):
    """One handler's committed work on one event: the unique pair makes handlers run once."""

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="handlings")
    handler = models.CharField(_("handler"), max_length=200)
    handled_at = models.DateTimeField(_("handled at"), default=timezone.now)

    class Meta:
        verbose_name = _("event handling")
        verbose_name_plural = _("event handlings")
        constraints = [
            models.UniqueConstraint(fields=["event", "handler"], name="event_handled_once")
        ]

    def __str__(self) -> str:
        return f"{self.handler} @ {self.event_id}"


class AuditEntry(models.Model):
    """Who did what to which record, when, and how it looked before and after."""

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    actor_label = models.CharField(_("by"), max_length=150, blank=True)
    action = models.CharField(_("action"), max_length=64, db_index=True)
    target_type = models.ForeignKey(
        ContentType, verbose_name=_("record type"), on_delete=models.SET_NULL, null=True, blank=True
    )
    target_id = models.CharField(_("record id"), max_length=64, blank=True)
    target_label = models.CharField(_("record"), max_length=200, blank=True)
    before = models.JSONField(_("before"), null=True, blank=True, encoder=DjangoJSONEncoder)
    after = models.JSONField(_("after"), null=True, blank=True, encoder=DjangoJSONEncoder)
    reason = models.TextField(_("reason"), blank=True)
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    created_at = models.DateTimeField(_("at"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit log")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["target_type", "target_id"], name="audit_target")]

    def __str__(self) -> str:
        return f"{self.actor_label} {self.action} {self.target_label}"

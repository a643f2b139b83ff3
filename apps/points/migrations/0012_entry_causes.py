"""Entries name their cause as (kind, id) instead of a string; an order's and a refund's
entries are unique by it and need no idempotency key."""

import re

from django.db import migrations, models
from django.db.models import Q

ORDER_KEY = re.compile(r"order:(\d+):(?:earn|points|points-back)")
REFUND_KEY = re.compile(r"refund:(\d+):.*")
FIRST_PURCHASE_KEY = re.compile(r"first-purchase:order:(\d+):.*")
EVENT_KEY = re.compile(r"(join|profile):(\d+):.*")
CAUSE = re.compile(r"(import|member|coupon):(.+)")


def cause_of(kind: str, key: str, cause: str, coupon_ids: dict[str, int]):
    """(cause kind, cause id, the key kept) of an entry written with `key` and `cause`."""
    if match := ORDER_KEY.fullmatch(key):
        return "order", int(match[1]), None
    if match := REFUND_KEY.fullmatch(key):
        return "refund", int(match[1]), None
    if match := FIRST_PURCHASE_KEY.fullmatch(key):
        return "first_purchase", int(match[1]), key
    if match := EVENT_KEY.fullmatch(key):
        return {"join": "join", "profile": "profile_complete"}[match[1]], int(match[2]), key
    if kind == "reverse":  # not an order's or a refund's: a void by HQ
        return "admin", None, key
    if kind in ("settle", "expire") and cause == "points":
        return ("maturity" if kind == "settle" else "expiry"), None, key
    if cause == "demo":
        return "demo", None, key
    if match := CAUSE.fullmatch(cause):
        if match[1] == "import" and match[2].isdigit():
            return "import", int(match[2]), key
        if match[1] == "member" and match[2].isdigit():
            return "merge", int(match[2]), key
        if match[1] == "coupon" and match[2] in coupon_ids:
            return "coupon", coupon_ids[match[2]], key
    return "admin", None, key


def convert(apps, schema_editor):
    Entry = apps.get_model("points", "Entry")
    Coupon = apps.get_model("coupons", "Coupon")
    codes = {
        cause.removeprefix("coupon:")
        for cause in Entry.objects.filter(cause__startswith="coupon:").values_list(
            "cause", flat=True
        )
    }
    coupon_ids = dict(Coupon.objects.filter(code__in=codes).values_list("code", "pk"))
    batch = []
    for entry in Entry.objects.only("pk", "kind", "idempotency_key", "cause").iterator(2000):
        kind, cause_id, key = cause_of(entry.kind, entry.idempotency_key, entry.cause, coupon_ids)
        entry.cause_kind, entry.cause_id, entry.idempotency_key = kind, cause_id, key
        batch.append(entry)
        if len(batch) == 2000:
            Entry.objects.bulk_update(batch, ["cause_kind", "cause_id", "idempotency_key"])
            batch = []
    Entry.objects.bulk_update(batch, ["cause_kind", "cause_id", "idempotency_key"])


CAUSE_KINDS = [
    ("order", "order"),
    ("refund", "refund"),
    ("first_purchase", "first purchase"),
    ("join", "joining"),
    ("profile_complete", "completing the profile"),
    ("coupon", "coupon exchange"),
    ("admin", "HQ by hand"),
    ("import", "import"),
    ("merge", "member merge"),
    ("maturity", "return window over"),
    ("expiry", "expiry"),
    ("demo", "demo data"),
]


class Migration(migrations.Migration):
    dependencies = [("points", "0011_hq_roles_manual_actions"), ("coupons", "0001_initial")]

    operations = [
        migrations.AddField(
            model_name="entry",
            name="cause_kind",
            field=models.CharField(
                choices=CAUSE_KINDS, max_length=16, null=True, verbose_name="cause"
            ),
        ),
        migrations.AddField(
            model_name="entry",
            name="cause_id",
            field=models.BigIntegerField(blank=True, null=True, verbose_name="cause id"),
        ),
        migrations.AlterField(
            model_name="entry",
            name="idempotency_key",
            field=models.CharField(blank=True, max_length=120, null=True, unique=True),
        ),
        migrations.RunPython(convert, elidable=False),
        migrations.RemoveField(model_name="entry", name="cause"),
        migrations.AlterField(
            model_name="entry",
            name="cause_kind",
            field=models.CharField(choices=CAUSE_KINDS, max_length=16, verbose_name="cause"),
        ),
        migrations.AddConstraint(
            model_name="entry",
            constraint=models.CheckConstraint(
                condition=Q(cause_id__isnull=False)
                | ~Q(cause_kind__in=["order", "refund", "first_purchase"]),
                name="entry_order_cause_has_id",
            ),
        ),
        migrations.AddConstraint(
            model_name="entry",
            constraint=models.UniqueConstraint(
                condition=Q(cause_kind__in=["order", "refund"], reverses__isnull=True),
                fields=("cause_kind", "cause_id", "kind"),
                name="entry_once_per_order",
            ),
        ),
        migrations.AddConstraint(
            model_name="entry",
            constraint=models.UniqueConstraint(
                condition=Q(cause_kind__in=["order", "refund"], reverses__isnull=False),
                fields=("cause_kind", "cause_id", "reverses"),
                name="entry_reversal_once_per_order",
            ),
        ),
    ]

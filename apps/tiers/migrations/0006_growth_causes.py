"""Growth entries name their cause as (kind, id) instead of a string; an order's and a
refund's entry is unique by it and needs no key."""

import re

from django.db import migrations, models
from django.db.models import Q

ORDER_KEY = re.compile(r"(order|refund):(\d+):growth")
ACTION_KEY = re.compile(r"(join|profile):(\d+)")


def cause_of(key: str, cause: str):
    """(cause kind, cause id, the key kept) of an entry written with `key` and `cause`."""
    if match := ORDER_KEY.fullmatch(key):
        return match[1], int(match[2]), None
    if match := ACTION_KEY.fullmatch(key):
        return {"join": "join", "profile": "profile_complete"}[match[1]], int(match[2]), key
    if cause == "demo":
        return "demo", None, key
    return "admin", None, key


def convert(apps, schema_editor):
    GrowthEntry = apps.get_model("tiers", "GrowthEntry")
    batch = []
    for entry in GrowthEntry.objects.only("pk", "key", "cause").iterator(2000):
        entry.cause_kind, entry.cause_id, entry.key = cause_of(entry.key, entry.cause)
        batch.append(entry)
        if len(batch) == 2000:
            GrowthEntry.objects.bulk_update(batch, ["cause_kind", "cause_id", "key"])
            batch = []
    GrowthEntry.objects.bulk_update(batch, ["cause_kind", "cause_id", "key"])


CAUSE_KINDS = [
    ("order", "order"),
    ("refund", "refund"),
    ("join", "joining"),
    ("profile_complete", "completing the profile"),
    ("admin", "HQ by hand"),
    ("demo", "demo data"),
]


class Migration(migrations.Migration):
    dependencies = [("tiers", "0005_hq_roles_member_tiers")]

    operations = [
        migrations.AddField(
            model_name="growthentry",
            name="cause_kind",
            field=models.CharField(
                choices=CAUSE_KINDS, max_length=16, null=True, verbose_name="cause"
            ),
        ),
        migrations.AddField(
            model_name="growthentry",
            name="cause_id",
            field=models.BigIntegerField(blank=True, null=True, verbose_name="cause id"),
        ),
        migrations.AlterField(
            model_name="growthentry",
            name="key",
            field=models.CharField(blank=True, max_length=120, null=True, unique=True),
        ),
        migrations.RunPython(convert, elidable=False),
        migrations.RemoveField(model_name="growthentry", name="cause"),
        migrations.AlterField(
            model_name="growthentry",
            name="cause_kind",
            field=models.CharField(choices=CAUSE_KINDS, max_length=16, verbose_name="cause"),
        ),
        migrations.AddConstraint(
            model_name="growthentry",
            constraint=models.CheckConstraint(
                condition=Q(cause_id__isnull=False) | ~Q(cause_kind__in=["order", "refund"]),
                name="growth_order_cause_has_id",
            ),
        ),
        migrations.AddConstraint(
            model_name="growthentry",
            constraint=models.UniqueConstraint(
                condition=Q(cause_kind__in=["order", "refund"]),
                fields=("cause_kind", "cause_id"),
                name="growth_once_per_order",
            ),
        ),
    ]

"""Joining, completing the profile and the demo give growth once by their cause, as an
order does, instead of by a key assembled from ids: their keys go."""

import re

from django.db import migrations, models
from django.db.models import Q

ACTION_KEY = re.compile(r"(?:join|profile):\d+")
DEMO_KEY = re.compile(r"demo:growth:\d+")
GROWTH_ONCE = ("order", "refund", "join", "profile_complete", "demo")
KEYED_BEFORE = ["join", "profile_complete", "demo"]


def typed(cause_kind: str, key: str | None, member_id: int) -> dict:
    """What an entry of this cause written with `key` becomes: its cause id and its key
    dropped, or {} where the key stays (a form's)."""
    if key is None:
        return {}
    if cause_kind in ("join", "profile_complete") and ACTION_KEY.fullmatch(key):
        return {"key": None}
    if cause_kind == "demo" and DEMO_KEY.fullmatch(key):
        return {"cause_id": member_id, "key": None}
    return {}


def convert(apps, schema_editor):
    GrowthEntry = apps.get_model("tiers", "GrowthEntry")
    demo_members: set[int] = set()
    batch = []
    entries = GrowthEntry.objects.filter(key__isnull=False, cause_kind__in=KEYED_BEFORE).only(
        "pk", "cause_kind", "key", "member_id"
    )
    for entry in entries.order_by("pk").iterator(2000):
        changes = typed(entry.cause_kind, entry.key, entry.member_id)
        if "cause_id" in changes:  # the demo: a member's first grant
            if changes["cause_id"] in demo_members:
                continue
            demo_members.add(changes["cause_id"])
        if not changes:
            continue
        for field, value in changes.items():
            setattr(entry, field, value)
        batch.append(entry)
        if len(batch) == 2000:
            GrowthEntry.objects.bulk_update(batch, ["cause_id", "key"])
            batch = []
    GrowthEntry.objects.bulk_update(batch, ["cause_id", "key"])


def convert_back(apps, schema_editor):
    """Back: the keys the writers before this migration gave these entries."""
    GrowthEntry = apps.get_model("tiers", "GrowthEntry")
    Member = apps.get_model("members", "Member")
    entries = GrowthEntry.objects.filter(
        key__isnull=True, cause_id__isnull=False, cause_kind__in=KEYED_BEFORE
    ).order_by("pk")
    demo_ids = entries.filter(cause_kind="demo").values_list("cause_id", flat=True)
    phones = dict(Member.objects.filter(pk__in=demo_ids).values_list("pk", "phone"))
    batch = []
    for entry in entries.iterator(2000):
        if entry.cause_kind == "demo":
            entry.key, entry.cause_id = f"demo:growth:{phones[entry.cause_id]}", None
        else:
            action = "join" if entry.cause_kind == "join" else "profile"
            entry.key = f"{action}:{entry.cause_id}"
        batch.append(entry)
    GrowthEntry.objects.bulk_update(batch, ["cause_id", "key"], batch_size=2000)


class Migration(migrations.Migration):
    dependencies = [("tiers", "0006_growth_causes")]

    operations = [
        migrations.RemoveConstraint(model_name="growthentry", name="growth_order_cause_has_id"),
        migrations.RemoveConstraint(model_name="growthentry", name="growth_once_per_order"),
        migrations.RunPython(convert, convert_back, elidable=False),
        migrations.AddConstraint(
            model_name="growthentry",
            constraint=models.CheckConstraint(
                condition=Q(cause_id__isnull=False)
                | ~Q(cause_kind__in=["order", "refund", "join", "profile_complete"]),
                name="growth_cause_has_id",
            ),
        ),
        migrations.AddConstraint(
            model_name="growthentry",
            constraint=models.UniqueConstraint(
                condition=Q(cause_kind__in=GROWTH_ONCE),
                fields=("cause_kind", "cause_id"),
                name="growth_once_per_cause",
            ),
        ),
    ]

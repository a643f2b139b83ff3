"""The causes that write once name what makes them unique, instead of a key assembled from
ids: an event's bonus its earning rule, a job's entries their batch, the demo's grant its
member; an import's and a merge's entries already named theirs. Their keys go; a key is left
only where a client or a form supplied it."""

import re

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models
from django.db.models import Q

ONCE_PER_RULE = ("first_purchase", "join", "profile_complete")
ONCE_PER_MEMBER = ("import", "maturity", "expiry")
ONCE_PER_CAUSE = ("merge", "demo")

RULE_KEY = re.compile(r"(?:first-purchase:order|join|profile):\d+:rule(\d+)")
IMPORT_KEY = re.compile(r"import:\d+:\d+")
MERGE_KEY = re.compile(r"merge:\d+")
DEMO_KEY = re.compile(r"demo:(?:welcome|history):\d+")
JOB_KEY = re.compile(r"((?:settle|expire):[0-9a-f]+):\d+")


def typed(cause_kind: str, key: str | None, member_id: int | None, rule_ids) -> dict:
    """What an entry of this cause written with `key` becomes: the typed columns it gets and
    its key dropped, or {} where the key stays (a client's or a form's, or a bonus whose rule
    is gone). A job's entries get {"batch": the prefix their batch's keys share}."""
    if key is None:
        return {"batch": None} if cause_kind in ("maturity", "expiry") else {}
    if cause_kind in ONCE_PER_RULE and (match := RULE_KEY.fullmatch(key)):
        rule_id = int(match[1])
        return {"rule_id": rule_id, "idempotency_key": None} if rule_id in rule_ids else {}
    if cause_kind in ("maturity", "expiry"):
        match = JOB_KEY.fullmatch(key)
        return {"batch": match[1] if match else key, "idempotency_key": None}
    if cause_kind == "import" and IMPORT_KEY.fullmatch(key):
        return {"idempotency_key": None}
    if cause_kind == "merge" and MERGE_KEY.fullmatch(key):
        return {"idempotency_key": None}
    if cause_kind == "demo" and DEMO_KEY.fullmatch(key) and member_id is not None:
        return {"cause_id": member_id, "idempotency_key": None}
    return {}


FIELDS = ["cause_id", "rule_id", "idempotency_key"]


def convert(apps, schema_editor):
    Entry = apps.get_model("points", "Entry")
    EarningRule = apps.get_model("points", "EarningRule")
    JobBatch = apps.get_model("points", "JobBatch")
    rule_ids = set(EarningRule.objects.values_list("pk", flat=True))
    batches: dict[str, int] = {}
    demo_members: set[int] = set()
    entries = (
        Entry.objects.filter(
            Q(idempotency_key__isnull=False) | Q(cause_kind__in=["maturity", "expiry"])
        )
        .only("pk", "cause_kind", "idempotency_key", "member_id", "created_at")
        .order_by("pk")
    )
    batch = []
    for entry in entries.iterator(2000):
        changes = typed(entry.cause_kind, entry.idempotency_key, entry.member_id, rule_ids)
        if "cause_id" in changes:  # the demo: a member's first grant
            if changes["cause_id"] in demo_members:
                continue
            demo_members.add(changes["cause_id"])
        if "batch" in changes:
            prefix = changes.pop("batch") or f"entry:{entry.pk}"
            if prefix not in batches:
                batches[prefix] = JobBatch.objects.create(
                    kind=entry.cause_kind, created_at=entry.created_at
                ).pk
            changes["cause_id"] = batches[prefix]
        if not changes:
            continue
        for field, value in changes.items():
            setattr(entry, field, value)
        batch.append(entry)
        if len(batch) == 2000:
            Entry.objects.bulk_update(batch, FIELDS)
            batch = []
    Entry.objects.bulk_update(batch, FIELDS)


EVENT_KEY_PREFIX = {
    "join": "join:{}",
    "profile_complete": "profile:{}",
    "first_purchase": "first-purchase:order:{}",
}
DEMO_PHONE = "13800000000"


def untyped(entry, phone: str | None) -> dict:
    """Back: the key the writers before this migration gave an entry of a cause that writes
    once (a job's, a merge's and the demo's as near as their ids allow)."""
    kind, cause_id = entry.cause_kind, entry.cause_id
    if kind in ONCE_PER_RULE and entry.rule_id is not None:
        return {"idempotency_key": f"{EVENT_KEY_PREFIX[kind].format(cause_id)}:rule{entry.rule_id}"}
    if kind == "import":
        return {"idempotency_key": f"import:{cause_id}:{entry.member_id}"}
    if kind in ("maturity", "expiry"):
        job = "settle" if kind == "maturity" else "expire"
        return {"idempotency_key": f"{job}:batch{cause_id}:{entry.member_id}", "cause_id": None}
    if kind == "merge":
        return {"idempotency_key": f"merge:member{cause_id}"}
    if kind == "demo" and phone is not None:
        grant = "welcome" if phone == DEMO_PHONE else "history"
        return {"idempotency_key": f"demo:{grant}:{phone}", "cause_id": None}
    return {}


def convert_back(apps, schema_editor):
    Entry = apps.get_model("points", "Entry")
    Member = apps.get_model("members", "Member")
    entries = Entry.objects.filter(
        idempotency_key__isnull=True,
        cause_id__isnull=False,
        cause_kind__in=[*ONCE_PER_RULE, *ONCE_PER_MEMBER, *ONCE_PER_CAUSE],
    ).order_by("pk")
    demo_ids = entries.filter(cause_kind="demo").values_list("cause_id", flat=True)
    phones = dict(Member.objects.filter(pk__in=demo_ids).values_list("pk", "phone"))
    batch = []
    for entry in entries.iterator(2000):
        changes = untyped(entry, phones.get(entry.cause_id))
        for field, value in changes.items():
            setattr(entry, field, value)
        if changes:
            batch.append(entry)
        if len(batch) == 2000:
            Entry.objects.bulk_update(batch, ["cause_id", "idempotency_key"])
            batch = []
    Entry.objects.bulk_update(batch, ["cause_id", "idempotency_key"])


CAUSE_HAS_ID = ["order", "refund", *ONCE_PER_RULE, *ONCE_PER_MEMBER, "merge"]


class Migration(migrations.Migration):
    dependencies = [("points", "0012_entry_causes")]

    operations = [
        migrations.CreateModel(
            name="JobBatch",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "kind",
                    models.CharField(
                        choices=[("maturity", "return window over"), ("expiry", "expiry")],
                        max_length=16,
                        verbose_name="kind",
                    ),
                ),
                (
                    "created_at",
                    models.DateTimeField(default=django.utils.timezone.now, verbose_name="at"),
                ),
            ],
            options={
                "verbose_name": "ledger job batch",
                "verbose_name_plural": "ledger job batches",
            },
        ),
        migrations.AddField(
            model_name="entry",
            name="rule",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="points.earningrule",
                verbose_name="earning rule",
            ),
        ),
        migrations.RunPython(convert, convert_back, elidable=False),
        migrations.RemoveConstraint(model_name="entry", name="entry_order_cause_has_id"),
        migrations.AddConstraint(
            model_name="entry",
            constraint=models.CheckConstraint(
                condition=Q(cause_id__isnull=False) | ~Q(cause_kind__in=CAUSE_HAS_ID),
                name="entry_cause_has_id",
            ),
        ),
        migrations.AddConstraint(
            model_name="entry",
            constraint=models.UniqueConstraint(
                condition=Q(cause_kind__in=ONCE_PER_RULE),
                fields=("cause_kind", "cause_id", "rule"),
                name="entry_bonus_once_per_rule",
            ),
        ),
        migrations.AddConstraint(
            model_name="entry",
            constraint=models.UniqueConstraint(
                condition=Q(cause_kind__in=ONCE_PER_MEMBER),
                fields=("cause_kind", "cause_id", "member"),
                name="entry_once_per_member_of_cause",
            ),
        ),
        migrations.AddConstraint(
            model_name="entry",
            constraint=models.UniqueConstraint(
                condition=Q(cause_kind__in=ONCE_PER_CAUSE),
                fields=("cause_kind", "cause_id"),
                name="entry_once_per_cause",
            ),
        ),
    ]

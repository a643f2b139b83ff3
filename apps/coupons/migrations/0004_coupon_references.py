"""A coupon's issue is made once by typed references, not by the string `source_key`: a
claim's slot (`claim_slot`), its batch (`batch`), an event's cause (`cause_kind`,
`cause_id`), a store gift's key (`idempotency_key`, with the store); each unique with the
template and the member it was issued to (`issued_to`, which a merge leaves alone)."""

import re

import django.db.models.deletion
from django.db import migrations, models

CHUNK = 2000

# What the strings were (apps/coupons/issuing.py, batches.py and handlers.py before).
CLAIM = re.compile(r"claim:(\d+):(\d+):(\d+)")  # template, member, slot
BATCH = re.compile(r"batch:(\d+):(\d+)")  # batch, member
JOIN = re.compile(r"event:join:(\d+):(\d+)")  # template, member
REFERRAL = re.compile(r"event:referral:(\d+):(\d+)")  # template, the friend
TIER = re.compile(r"event:tier:(\d+):(\d+)")  # template, the tier_changed event
BIRTHDAY = re.compile(r"event:birthday:(\d+):(\d+):(\d+)")  # year, template, member
GIFT = re.compile(r"gift:(\d+):(.+)", re.DOTALL)  # store, the form's key


def references(pk: int, member_id: int, source_key: str) -> dict:
    """The typed columns a coupon's old key stood for. An event key of none of the
    handlers' forms (the demo's and the benchmarks') becomes a demo cause, the coupon's
    own id."""
    if found := CLAIM.fullmatch(source_key):
        return {"issued_to_id": int(found[2]), "claim_slot": int(found[3])}
    if found := BATCH.fullmatch(source_key):
        return {"issued_to_id": int(found[2]), "batch_id": int(found[1])}
    if found := JOIN.fullmatch(source_key):
        return {"issued_to_id": int(found[2]), "cause_kind": "join", "cause_id": int(found[2])}
    if found := REFERRAL.fullmatch(source_key):
        return {"issued_to_id": member_id, "cause_kind": "referral", "cause_id": int(found[2])}
    if found := TIER.fullmatch(source_key):
        return {"issued_to_id": member_id, "cause_kind": "tier_upgrade", "cause_id": int(found[2])}
    if found := BIRTHDAY.fullmatch(source_key):
        return {"issued_to_id": int(found[3]), "cause_kind": "birthday", "cause_id": int(found[1])}
    if found := GIFT.fullmatch(source_key):
        return {"issued_to_id": member_id, "idempotency_key": found[2]}
    return {"issued_to_id": member_id, "cause_kind": "demo", "cause_id": pk}


def source_key(template_id, issued_to_id, claim_slot, batch_id, cause_kind, cause_id, key, store_id):
    if claim_slot is not None:
        return f"claim:{template_id}:{issued_to_id}:{claim_slot}"
    if batch_id is not None:
        return f"batch:{batch_id}:{issued_to_id}"
    if cause_kind == "birthday":
        return f"event:birthday:{cause_id}:{template_id}:{issued_to_id}"
    if cause_kind == "tier_upgrade":
        return f"event:tier:{template_id}:{cause_id}"
    if cause_kind in ("join", "referral"):
        return f"event:{cause_kind}:{template_id}:{cause_id}"
    if key is not None:
        return f"gift:{store_id}:{key}"
    return f"event:demo:{template_id}:{issued_to_id}:{cause_id}"


FIELDS = ["issued_to_id", "claim_slot", "batch_id", "cause_kind", "cause_id", "idempotency_key"]


def keys_to_references(apps, schema_editor):
    Coupon = apps.get_model("coupons", "Coupon")
    after = 0
    while coupons := list(
        Coupon.objects.filter(pk__gt=after).order_by("pk").only("member", "source_key")[:CHUNK]
    ):
        for coupon in coupons:
            for name, value in references(coupon.pk, coupon.member_id, coupon.source_key).items():
                setattr(coupon, name, value)
        Coupon.objects.bulk_update(coupons, FIELDS)
        after = coupons[-1].pk


def references_to_keys(apps, schema_editor):
    Coupon = apps.get_model("coupons", "Coupon")
    after = 0
    while coupons := list(
        Coupon.objects.filter(pk__gt=after).order_by("pk").only("template", "store", *FIELDS)[
            :CHUNK
        ]
    ):
        for c in coupons:
            c.source_key = source_key(
                c.template_id,
                c.issued_to_id,
                c.claim_slot,
                c.batch_id,
                c.cause_kind,
                c.cause_id,
                c.idempotency_key,
                c.store_id,
            )
        Coupon.objects.bulk_update(coupons, ["source_key"])
        after = coupons[-1].pk


class Migration(migrations.Migration):
    dependencies = [
        ("coupons", "0003_coupon_order_id"),
        ("members", "0012_wechat_oa_openid"),
        ("stores", "0002_hq_roles"),
    ]

    operations = [
        migrations.AddField(
            model_name="coupon",
            name="issued_to",
            field=models.ForeignKey(
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="members.member",
                verbose_name="issued to",
            ),
        ),
        migrations.AddField(
            model_name="coupon",
            name="claim_slot",
            field=models.PositiveSmallIntegerField(
                blank=True,
                help_text="A claim or an exchange: which of the member's claims of the template.",
                null=True,
                verbose_name="claim number",
            ),
        ),
        migrations.AddField(
            model_name="coupon",
            name="batch",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="coupons.issuebatch",
                verbose_name="issue batch",
            ),
        ),
        migrations.AddField(
            model_name="coupon",
            name="cause_kind",
            field=models.CharField(
                blank=True,
                choices=[
                    ("join", "joining"),
                    ("referral", "a friend's joining"),
                    ("tier_upgrade", "a tier upgrade"),
                    ("birthday", "a birthday"),
                    ("demo", "demo data"),
                ],
                default="",
                max_length=16,
                verbose_name="issued on",
            ),
        ),
        migrations.AddField(
            model_name="coupon",
            name="cause_id",
            field=models.BigIntegerField(blank=True, null=True, verbose_name="cause id"),
        ),
        migrations.AddField(
            model_name="coupon",
            name="idempotency_key",
            field=models.CharField(blank=True, max_length=120, null=True),
        ),
        # Nullable while the keys are read, so that going back can write them again.
        migrations.AlterField(
            model_name="coupon",
            name="source_key",
            field=models.CharField(max_length=120, null=True, unique=True),
        ),
        migrations.RunPython(keys_to_references, references_to_keys),
        migrations.RemoveField(model_name="coupon", name="source_key"),
        migrations.AlterField(
            model_name="coupon",
            name="issued_to",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="members.member",
                verbose_name="issued to",
            ),
        ),
        migrations.AddConstraint(
            model_name='coupon',
            constraint=models.UniqueConstraint(condition=models.Q(('claim_slot__isnull', False)), fields=('template', 'issued_to', 'claim_slot'), name='coupon_claim_slot_once'),
        ),
        migrations.AddConstraint(
            model_name='coupon',
            constraint=models.UniqueConstraint(condition=models.Q(('batch__isnull', False)), fields=('batch', 'issued_to'), name='coupon_batch_once'),
        ),
        migrations.AddConstraint(
            model_name='coupon',
            constraint=models.UniqueConstraint(condition=models.Q(('cause_id__isnull', False)), fields=('template', 'issued_to', 'cause_kind', 'cause_id'), name='coupon_cause_once'),
        ),
        migrations.AddConstraint(
            model_name='coupon',
            constraint=models.UniqueConstraint(condition=models.Q(('idempotency_key__isnull', False)), fields=('store', 'idempotency_key'), name='coupon_gift_once'),
        ),
        migrations.AddConstraint(
            model_name='coupon',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('source__in', ['claim', 'exchange']), ('claim_slot__isnull', False), ('claim_slot__gte', 1)), models.Q(models.Q(('source__in', ['claim', 'exchange']), _negated=True), ('claim_slot__isnull', True)), _connector='OR'), name='coupon_claim_has_slot'),
        ),
        migrations.AddConstraint(
            model_name='coupon',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('source', 'batch'), ('batch__isnull', False)), models.Q(models.Q(('source', 'batch'), _negated=True), ('batch__isnull', True)), _connector='OR'), name='coupon_batch_has_batch'),
        ),
        migrations.AddConstraint(
            model_name='coupon',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(models.Q(('source', 'event'), ('cause_id__isnull', False), models.Q(('cause_kind', ''), _negated=True)), models.Q(models.Q(('source', 'event'), _negated=True), ('cause_id__isnull', True)), _connector='OR'), models.Q(('source', 'event'), ('cause_kind', ''), _connector='OR')), name='coupon_event_has_cause'),
        ),
        migrations.AddConstraint(
            model_name='coupon',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('source', 'store_gift'), ('idempotency_key__isnull', False), ('store__isnull', False)), models.Q(models.Q(('source', 'store_gift'), _negated=True), ('idempotency_key__isnull', True)), _connector='OR'), name='coupon_gift_has_key'),
        ),
    ]

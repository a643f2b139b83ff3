"""A coupon refers to the order holding or using it by the order's id (`order_id`), not by
the string `order:{pk}` (`locked_for`, `used_for`); what a till said it was redeemed for
is kept as its receipt."""

import re

from django.db import migrations, models
from django.db.models import Q

ORDER_REF = re.compile(r"order:(\d+)")
CHUNK = 2000


def _order_id(ref: str) -> int | None:
    found = ORDER_REF.fullmatch(ref)
    return int(found[1]) if found else None


def refs_to_ids(apps, schema_editor):
    Coupon = apps.get_model("coupons", "Coupon")
    referring = Coupon.objects.filter(~Q(used_for="") | ~Q(locked_for="")).order_by("pk")
    after = 0
    while rows := list(
        referring.filter(pk__gt=after).values_list("pk", "status", "locked_for", "used_for")[
            :CHUNK
        ]
    ):
        for pk, status, locked_for, used_for in rows:
            changes = {}
            if status == "used":
                changes["order_id"] = _order_id(used_for)
                if changes["order_id"] is None and used_for != "counter":
                    changes["receipt"] = used_for
            elif status == "locked":
                changes["order_id"] = _order_id(locked_for)
            if changes:
                Coupon.objects.filter(pk=pk).update(**changes)
        after = rows[-1][0]


def ids_to_refs(apps, schema_editor):
    Coupon = apps.get_model("coupons", "Coupon")
    for pk, status, order_id, receipt in (
        Coupon.objects.filter(status__in=["locked", "used"])
        .values_list("pk", "status", "order_id", "receipt")
        .iterator()
    ):
        ref = f"order:{order_id}" if order_id is not None else ""
        if status == "locked":
            Coupon.objects.filter(pk=pk).update(locked_for=ref)
        else:
            Coupon.objects.filter(pk=pk).update(used_for=ref or receipt or "counter")


class Migration(migrations.Migration):
    dependencies = [("coupons", "0002_schedules_and_roles")]

    operations = [
        migrations.AddField(
            model_name="coupon",
            name="order_id",
            field=models.BigIntegerField(
                blank=True, null=True, verbose_name="held for or used by order"
            ),
        ),
        migrations.AddField(
            model_name="coupon",
            name="receipt",
            field=models.CharField(
                blank=True,
                help_text="The sale a till redeemed the coupon for, if it said.",
                max_length=64,
                verbose_name="till's receipt",
            ),
        ),
        migrations.RemoveConstraint(model_name="coupon", name="coupon_locked_for_order"),
        migrations.RunPython(refs_to_ids, ids_to_refs),
        migrations.RemoveField(model_name="coupon", name="locked_for"),
        migrations.RemoveField(model_name="coupon", name="used_for"),
        migrations.AddConstraint(
            model_name="coupon",
            constraint=models.CheckConstraint(
                condition=~Q(status="locked") | Q(order_id__isnull=False),
                name="coupon_held_for_order",
            ),
        ),
        migrations.AddConstraint(
            model_name="coupon",
            constraint=models.CheckConstraint(
                condition=Q(status__in=["locked", "used"]) | Q(order_id__isnull=True),
                name="coupon_order_when_held_or_used",
            ),
        ),
        migrations.AddIndex(
            model_name="coupon",
            index=models.Index(
                condition=Q(order_id__isnull=False), fields=["order_id"], name="coupon_order"
            ),
        ),
    ]

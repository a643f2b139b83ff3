"""A template's counter says its day or its store in a column of its own, not in the string
`scope` (`day:2026-11-25`, `store:12`)."""

import datetime

import django.db.models.deletion
from django.db import migrations, models


def scopes_to_columns(apps, schema_editor):
    TemplateCounter = apps.get_model("coupons", "TemplateCounter")
    for counter in TemplateCounter.objects.order_by("pk").iterator():
        kind, _colon, value = counter.scope.partition(":")
        if kind == "day":
            counter.day = datetime.date.fromisoformat(value)
        else:
            counter.store_id = int(value)
        counter.save(update_fields=["day", "store"])


def columns_to_scopes(apps, schema_editor):
    TemplateCounter = apps.get_model("coupons", "TemplateCounter")
    for counter in TemplateCounter.objects.order_by("pk").iterator():
        counter.scope = (
            f"day:{counter.day.isoformat()}" if counter.day else f"store:{counter.store_id}"
        )
        counter.save(update_fields=["scope"])


class Migration(migrations.Migration):
    dependencies = [("coupons", "0004_coupon_references"), ("stores", "0002_hq_roles")]

    operations = [
        migrations.RemoveConstraint(model_name="templatecounter", name="template_counter_once"),
        # Nullable while it is read, so that going back can write it again.
        migrations.AlterField(
            model_name="templatecounter",
            name="scope",
            field=models.CharField(max_length=24, null=True),
        ),
        migrations.AddField(
            model_name="templatecounter",
            name="day",
            field=models.DateField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="templatecounter",
            name="store",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="stores.store",
            ),
        ),
        migrations.RunPython(scopes_to_columns, columns_to_scopes),
        migrations.RemoveField(model_name="templatecounter", name="scope"),
        migrations.AddConstraint(
            model_name="templatecounter",
            constraint=models.UniqueConstraint(
                condition=models.Q(("day__isnull", False)),
                fields=("template", "day"),
                name="template_counter_day_once",
            ),
        ),
        migrations.AddConstraint(
            model_name="templatecounter",
            constraint=models.UniqueConstraint(
                condition=models.Q(("store__isnull", False)),
                fields=("template", "store"),
                name="template_counter_store_once",
            ),
        ),
        migrations.AddConstraint(
            model_name="templatecounter",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("day__isnull", False), ("store__isnull", True)),
                    models.Q(("day__isnull", True), ("store__isnull", False)),
                    _connector="OR",
                ),
                name="template_counter_day_or_store",
            ),
        ),
    ]

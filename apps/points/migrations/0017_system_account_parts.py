from django.db import migrations, models

SHARED, PARTS = ["issuance", "pending"], 16


def parts_create(apps, schema_editor):
    Account = apps.get_model("points", "Account")
    Account.objects.bulk_create(
        [Account(kind=kind, part=part) for kind in SHARED for part in range(1, PARTS)],
        ignore_conflicts=True,
    )


def parts_remove(apps, schema_editor):
    """Back to one account each, if the parts were never written to."""
    Account = apps.get_model("points", "Account")
    parts = Account.objects.filter(kind__in=SHARED, part__gt=0)
    if parts.exclude(balance=0).exists() or apps.get_model("points", "Entry").objects.filter(
        models.Q(from_account__in=parts) | models.Q(to_account__in=parts)
    ).exists():
        raise RuntimeError("the ledger has entries in the parts of issuance or pending")
    parts.delete()
    if schema_editor.connection.vendor == "postgresql":
        # the deferred foreign-key checks now, or the constraints below cannot be altered
        schema_editor.execute("SET CONSTRAINTS ALL IMMEDIATE")


class Migration(migrations.Migration):
    dependencies = [
        ("distributors", "0001_initial"),
        ("members", "0016_resume_schedule"),
        ("points", "0016_referral_cause"),
        ("stores", "0003_store_pay"),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="account",
            name="one_system_account_each",
        ),
        migrations.AddField(
            model_name="account",
            name="part",
            field=models.PositiveSmallIntegerField(default=0, verbose_name="part"),
        ),
        migrations.AddConstraint(
            model_name="account",
            constraint=models.UniqueConstraint(
                condition=models.Q(("kind__in", ["issuance", "pending", "breakage"])),
                fields=("kind", "part"),
                name="one_system_account_part_each",
            ),
        ),
        migrations.AddConstraint(
            model_name="account",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("part", 0),
                    models.Q(("kind__in", ["issuance", "pending"]), ("part__lt", 16)),
                    _connector="OR",
                ),
                name="account_part_of_a_shared_kind",
            ),
        ),
        migrations.RunPython(parts_create, parts_remove),
    ]

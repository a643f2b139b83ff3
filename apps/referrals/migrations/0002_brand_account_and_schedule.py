from django.db import migrations

from apps.core import schedules

SCHEDULES = [
    (
        "referrals: frozen commissions become available",
        "apps.referrals.tasks.commissions_release_task",
        "*/10",
        "*",
    ),
]


def create_brand_account(apps, schema_editor):
    apps.get_model("referrals", "CommissionAccount").objects.get_or_create(kind="brand")


class Migration(migrations.Migration):
    dependencies = [("referrals", "0001_initial"), ("core", "0002_schedules")]
    operations = [
        migrations.RunPython(create_brand_account, migrations.RunPython.noop),
        migrations.RunPython(
            lambda apps, _: schedules.install(apps, SCHEDULES),
            lambda apps, _: schedules.uninstall(apps, SCHEDULES),
        ),
    ]

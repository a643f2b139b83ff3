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


def create_system_accounts(apps, schema_editor):
    for kind in ("brand", "withdrawing", "paid_out"):
        apps.get_model("referrals", "CommissionAccount").objects.get_or_create(kind=kind)


class Migration(migrations.Migration):
    dependencies = [("referrals", "0001_initial"), ("core", "0002_schedules")]
    operations = [
        migrations.RunPython(create_system_accounts, migrations.RunPython.noop),
        migrations.RunPython(
            lambda apps, _: schedules.install(apps, SCHEDULES),
            lambda apps, _: schedules.uninstall(apps, SCHEDULES),
        ),
    ]

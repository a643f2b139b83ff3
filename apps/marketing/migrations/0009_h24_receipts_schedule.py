from django.db import migrations

from apps.core import schedules

SCHEDULES = [
    (
        "marketing: pull SMS delivery receipts",
        "apps.marketing.tasks.sms_receipts_pull_task",
        "*/5",
        "*",
    ),
]


def install(apps, _schema_editor):
    schedules.install(apps, SCHEDULES)


class Migration(migrations.Migration):
    dependencies = [("marketing", "0008_h24_delivery")]
    operations = [
        migrations.RunPython(install, lambda apps, _: schedules.uninstall(apps, SCHEDULES))
    ]

from django.db import migrations

from apps.core import schedules

SCHEDULES = [
    (
        "members: forget expired member codes",
        "apps.members.tasks.member_codes_purge_task",
        "40",
        "*",
    )
]


class Migration(migrations.Migration):
    dependencies = [("members", "0008_member_codes_and_otps"), ("core", "0002_schedules")]
    operations = [
        migrations.RunPython(
            lambda apps, _: schedules.install(apps, SCHEDULES),
            lambda apps, _: schedules.uninstall(apps, SCHEDULES),
        )
    ]

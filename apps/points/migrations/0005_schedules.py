from django.db import migrations

from apps.core import schedules

SCHEDULES = [
    ("points: pending points mature", "apps.points.tasks.points_mature_task", "*/10", "*"),
    ("points: expire points", "apps.points.tasks.points_expire_task", "20", "0"),
]


class Migration(migrations.Migration):
    dependencies = [("points", "0004_hq_roles"), ("core", "0002_schedules")]
    operations = [
        migrations.RunPython(
            lambda apps, _: schedules.install(apps, SCHEDULES),
            lambda apps, _: schedules.uninstall(apps, SCHEDULES),
        )
    ]

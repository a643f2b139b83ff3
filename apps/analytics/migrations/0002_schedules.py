from django.db import migrations

from apps.core import schedules

SCHEDULES = [("analytics: daily store figures", "apps.analytics.tasks.rollups_refresh_task", "*/10", "*")]


class Migration(migrations.Migration):
    dependencies = [("analytics", "0001_initial"), ("core", "0002_schedules")]
    operations = [
        migrations.RunPython(
            lambda apps, _: schedules.install(apps, SCHEDULES),
            lambda apps, _: schedules.uninstall(apps, SCHEDULES),
        )
    ]

from django.db import migrations

from apps.core import schedules

SCHEDULES = [("members: recompute rule tags", "apps.members.tasks.rule_tags_refresh_task", "10", "2")]


class Migration(migrations.Migration):
    dependencies = [("members", "0003_tags_segments"), ("core", "0002_schedules")]
    operations = [
        migrations.RunPython(
            lambda apps, _: schedules.install(apps, SCHEDULES),
            lambda apps, _: schedules.uninstall(apps, SCHEDULES),
        )
    ]

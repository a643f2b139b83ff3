"""Every 5 minutes, send again the jobs whose task was lost (JOBS_RESUME_AFTER_MINUTES)."""

from django.db import migrations

from apps.core import schedules

SCHEDULES = [("members: resume member imports", "apps.members.tasks.member_imports_resume_task", "*/5", "*")]


class Migration(migrations.Migration):
    dependencies = [("members", "0015_store_bindings"), ("core", "0002_schedules")]
    operations = [
        migrations.RunPython(
            lambda apps, _: schedules.install(apps, SCHEDULES),
            lambda apps, _: schedules.uninstall(apps, SCHEDULES),
        )
    ]

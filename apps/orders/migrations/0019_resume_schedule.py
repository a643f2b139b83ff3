"""Every 5 minutes, send again the jobs whose task was lost (JOBS_RESUME_AFTER_MINUTES)."""

from django.db import migrations

from apps.core import schedules

SCHEDULES = [("orders: resume platform order imports", "apps.orders.tasks.order_imports_resume_task", "*/5", "*")]


class Migration(migrations.Migration):
    dependencies = [("orders", "0018_order_promoters"), ("core", "0002_schedules")]
    operations = [
        migrations.RunPython(
            lambda apps, _: schedules.install(apps, SCHEDULES),
            lambda apps, _: schedules.uninstall(apps, SCHEDULES),
        )
    ]

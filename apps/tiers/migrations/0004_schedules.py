from django.db import migrations

from apps.core import schedules

SCHEDULES = [("tiers: review tiers", "apps.tiers.tasks.tiers_review_task", "40", "1")]


class Migration(migrations.Migration):
    dependencies = [("tiers", "0003_reviews"), ("core", "0002_schedules")]
    operations = [
        migrations.RunPython(
            lambda apps, _: schedules.install(apps, SCHEDULES),
            lambda apps, _: schedules.uninstall(apps, SCHEDULES),
        )
    ]

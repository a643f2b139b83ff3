"""Every 5 minutes, send again the jobs whose task was lost (JOBS_RESUME_AFTER_MINUTES)."""

from django.db import migrations

from apps.core import schedules

SCHEDULES = [("coupons: resume coupon batches", "apps.coupons.tasks.issue_batches_resume_task", "*/5", "*")]


class Migration(migrations.Migration):
    dependencies = [("coupons", "0007_referral_reward_cause"), ("core", "0002_schedules")]
    operations = [
        migrations.RunPython(
            lambda apps, _: schedules.install(apps, SCHEDULES),
            lambda apps, _: schedules.uninstall(apps, SCHEDULES),
        )
    ]

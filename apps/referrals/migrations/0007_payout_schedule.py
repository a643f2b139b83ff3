from django.db import migrations

from apps.core import schedules

SCHEDULES = [
    (
        "referrals: withdrawals being paid are asked about again",
        "apps.referrals.tasks.withdrawals_pay_out_task",
        "*/10",
        "*",
    ),
]


class Migration(migrations.Migration):
    dependencies = [("referrals", "0006_referral_schedule_and_roles")]
    operations = [
        migrations.RunPython(
            lambda apps, _: schedules.install(apps, SCHEDULES),
            lambda apps, _: schedules.uninstall(apps, SCHEDULES),
        ),
    ]

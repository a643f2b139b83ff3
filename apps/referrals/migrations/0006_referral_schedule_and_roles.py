from django.db import migrations

from apps.core import roles, schedules

SCHEDULES = [
    (
        "referrals: referral rewards after the first order's return window",
        "apps.referrals.tasks.referral_rewards_task",
        "15",
        "*",
    ),
]

GRANTS = {
    roles.OPERATIONS: [
        "referrals.view_referralrule",
        "referrals.add_referralrule",
        "referrals.change_referralrule",
        "referrals.view_referral",
        "referrals.change_referral",
        "referrals.view_referralflag",
        "referrals.view_referralreward",
        "referrals.view_referrerblock",
        "referrals.add_referrerblock",
        "referrals.delete_referrerblock",
    ],
    roles.CUSTOMER_SERVICE: ["referrals.view_referral", "referrals.view_referralreward"],
}


class Migration(migrations.Migration):
    dependencies = [("referrals", "0005_referral_rewards"), ("core", "0002_schedules")]
    operations = [
        migrations.RunPython(
            lambda apps, _: schedules.install(apps, SCHEDULES),
            lambda apps, _: schedules.uninstall(apps, SCHEDULES),
        ),
        migrations.RunPython(lambda apps, _: roles.grant(apps, GRANTS), migrations.RunPython.noop),
    ]

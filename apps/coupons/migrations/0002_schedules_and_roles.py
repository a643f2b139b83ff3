from django.db import migrations

from apps.core import roles, schedules

SCHEDULES = [
    ("coupons: expire coupons", "apps.coupons.tasks.coupons_expire_task", "5", "0"),
    ("coupons: remind of coupons ending soon", "apps.coupons.tasks.coupons_remind_task", "0", "10"),
    ("coupons: birthday coupons", "apps.coupons.tasks.coupons_birthday_task", "30", "7"),
]
TEMPLATES = ["coupons.add_coupontemplate", "coupons.change_coupontemplate", "coupons.view_coupontemplate"]
BATCHES = ["coupons.add_issuebatch", "coupons.change_issuebatch", "coupons.view_issuebatch"]
GRANTS = {
    roles.OPERATIONS: [*TEMPLATES, *BATCHES, "coupons.view_coupon"],
    roles.MARKETING: [*TEMPLATES, *BATCHES, "coupons.view_coupon"],
    roles.FINANCE: ["coupons.view_coupontemplate", "coupons.view_coupon"],
    roles.CUSTOMER_SERVICE: ["coupons.view_coupon", "coupons.view_coupontemplate"],
}


def install(apps, _schema_editor):
    schedules.install(apps, SCHEDULES)
    roles.grant(apps, GRANTS)


class Migration(migrations.Migration):
    dependencies = [("coupons", "0001_initial"), ("core", "0002_schedules"), ("stores", "0002_hq_roles")]
    operations = [
        migrations.RunPython(install, lambda apps, _: schedules.uninstall(apps, SCHEDULES))
    ]

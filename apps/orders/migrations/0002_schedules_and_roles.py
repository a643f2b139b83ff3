from django.db import migrations

from apps.core import roles, schedules

SCHEDULES = [("orders: cancel unpaid orders", "apps.orders.tasks.orders_expire_task", "*", "*")]
VIEW = ["orders.view_order", "orders.view_orderline", "orders.view_payment", "orders.view_refund"]
GRANTS = {
    roles.OPERATIONS: VIEW,
    roles.FINANCE: VIEW,
    roles.CUSTOMER_SERVICE: VIEW,
    roles.MARKETING: ["orders.view_order"],
}


def install(apps, _schema_editor):
    schedules.install(apps, SCHEDULES)
    roles.grant(apps, GRANTS)


class Migration(migrations.Migration):
    dependencies = [("orders", "0001_initial"), ("core", "0002_schedules"), ("stores", "0002_hq_roles")]
    operations = [
        migrations.RunPython(install, lambda apps, _: schedules.uninstall(apps, SCHEDULES))
    ]

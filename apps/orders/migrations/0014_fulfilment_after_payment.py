from django.db import migrations, models

from apps.core import roles, schedules

SCHEDULES = [
    (
        "orders: receive parcels shipped ORDER_RECEIVE_DAYS ago",
        "apps.orders.tasks.deliveries_receive_task",
        "20",
        "*",
    )
]
VIEW = ["orders.view_fulfilment"]
GRANTS = {
    # operations ship what leaves HQ's warehouse
    roles.OPERATIONS: [*VIEW, "orders.change_fulfilment"],
    roles.CUSTOMER_SERVICE: VIEW,
    roles.FINANCE: VIEW,
}


def install(apps, _schema_editor):
    schedules.install(apps, SCHEDULES)
    roles.grant(apps, GRANTS)


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0013_shipping_rules"),
        ("core", "0002_schedules"),
        ("stores", "0002_hq_roles"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="fulfilment",
            index=models.Index(
                condition=models.Q(("status", "shipped")),
                fields=["shipped_at"],
                name="fulfilment_on_the_way",
            ),
        ),
        migrations.RunPython(install, lambda apps, _: schedules.uninstall(apps, SCHEDULES)),
    ]

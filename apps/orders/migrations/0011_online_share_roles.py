"""HQ finance sets what franchise stores are owed for online sales in their malls
(订单 › 线上分成) and draws the online sales settlement from it."""

from django.db import migrations

from apps.core import roles

GRANTS = {
    roles.FINANCE: [
        "orders.view_onlineshare",
        "orders.add_onlineshare",
        "orders.change_onlineshare",
        "orders.delete_onlineshare",
    ],
}


def install(apps, _schema_editor):
    roles.grant(apps, GRANTS)


class Migration(migrations.Migration):
    dependencies = [("orders", "0010_online_shares"), ("stores", "0002_hq_roles")]
    operations = [migrations.RunPython(install, migrations.RunPython.noop)]

from django.db import migrations

from apps.core import roles

GRANTS = {
    roles.OPERATIONS: ["points.view_account", "points.view_entry", "points.adjust_points"],
    roles.FINANCE: ["points.view_account", "points.view_entry"],
    roles.CUSTOMER_SERVICE: ["points.view_entry", "points.adjust_points"],
}


def grant_roles(apps, schema_editor):
    roles.grant(apps, GRANTS)


class Migration(migrations.Migration):
    dependencies = [("points", "0003_adjust_permission"), ("stores", "0002_hq_roles")]
    operations = [migrations.RunPython(grant_roles, migrations.RunPython.noop)]

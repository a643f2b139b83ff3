from django.db import migrations

from apps.core import roles

MANAGE = [
    "members.add_tag", "members.change_tag", "members.view_tag",
    "members.add_membertag", "members.view_membertag",
    "members.add_segment", "members.change_segment", "members.view_segment",
]
GRANTS = {
    roles.OPERATIONS: MANAGE,
    roles.MARKETING: [*MANAGE, "members.delete_segment"],
    roles.CUSTOMER_SERVICE: ["members.view_tag", "members.add_membertag", "members.view_membertag"],
}


def grant_roles(apps, schema_editor):
    roles.grant(apps, GRANTS)


class Migration(migrations.Migration):
    dependencies = [("members", "0004_schedules")]
    operations = [migrations.RunPython(grant_roles, migrations.RunPython.noop)]

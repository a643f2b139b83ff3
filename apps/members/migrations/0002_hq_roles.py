from django.db import migrations

from apps.core import roles

GRANTS = {
    roles.OPERATIONS: [
        "members.view_member", "members.change_member", "members.view_member_phone",
        "members.view_memberidentity", "members.view_storevisit",
    ],
    roles.MARKETING: ["members.view_member", "members.view_storevisit"],
    roles.CUSTOMER_SERVICE: [
        "members.view_member", "members.change_member", "members.view_member_phone",
        "members.view_memberidentity", "members.view_storevisit",
    ],
}


def grant_roles(apps, schema_editor):
    roles.grant(apps, GRANTS)


class Migration(migrations.Migration):
    dependencies = [("members", "0001_initial"), ("stores", "0002_hq_roles")]
    operations = [migrations.RunPython(grant_roles, migrations.RunPython.noop)]

"""Who moves points by hand and who approves: operations and customer service ask (they
could adjust before), operations and finance approve; each role's daily cap without
approval. Caps are changed by a superuser only (no role has change_manualactioncap)."""

from django.db import migrations

from apps.core import roles

GRANTS = {
    roles.OPERATIONS: [
        "points.view_manualaction", "points.approve_manualaction", "points.view_manualactioncap",
    ],
    roles.FINANCE: [
        "points.view_manualaction", "points.approve_manualaction", "points.view_manualactioncap",
    ],
    roles.CUSTOMER_SERVICE: ["points.view_manualaction"],
}
CAPS = {roles.OPERATIONS: 5000, roles.CUSTOMER_SERVICE: 1000}


def grant_roles(apps, schema_editor):
    roles.grant(apps, GRANTS)
    Group = apps.get_model("auth", "Group")
    ManualActionCap = apps.get_model("points", "ManualActionCap")
    for name, points in CAPS.items():
        ManualActionCap.objects.get_or_create(
            group=Group.objects.get(name=name), defaults={"daily_points": points}
        )


class Migration(migrations.Migration):
    dependencies = [("points", "0010_manual_actions"), ("stores", "0002_hq_roles")]
    operations = [migrations.RunPython(grant_roles, migrations.RunPython.noop)]

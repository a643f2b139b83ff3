from django.db import migrations

from apps.core import roles

MANAGE = ["points.add_earningrule", "points.change_earningrule", "points.view_earningrule"]
GRANTS = {roles.OPERATIONS: MANAGE, roles.MARKETING: [*MANAGE, "points.delete_earningrule"],
          roles.FINANCE: ["points.view_earningrule"]}


class Migration(migrations.Migration):
    dependencies = [("points", "0006_earning_rules"), ("stores", "0002_hq_roles")]
    operations = [migrations.RunPython(lambda apps, _: roles.grant(apps, GRANTS), migrations.RunPython.noop)]

from django.db import migrations

from apps.core import roles

GRANTS = {
    roles.OPERATIONS: ["tiers.view_membertier", "tiers.change_membertier"],
    roles.CUSTOMER_SERVICE: ["tiers.view_membertier", "tiers.change_membertier"],
    roles.MARKETING: ["tiers.view_membertier"],
}


class Migration(migrations.Migration):
    dependencies = [("tiers", "0004_schedules"), ("stores", "0002_hq_roles")]
    operations = [migrations.RunPython(lambda apps, _: roles.grant(apps, GRANTS), migrations.RunPython.noop)]

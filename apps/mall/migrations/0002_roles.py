from django.db import migrations

from apps.core import roles

MANAGE = ["mall.add_product", "mall.change_product", "mall.view_product"]
GRANTS = {roles.OPERATIONS: MANAGE, roles.MARKETING: MANAGE, roles.FINANCE: ["mall.view_product"]}


class Migration(migrations.Migration):
    dependencies = [("mall", "0001_initial"), ("stores", "0002_hq_roles")]
    operations = [migrations.RunPython(lambda apps, _: roles.grant(apps, GRANTS), migrations.RunPython.noop)]

from django.db import migrations

from apps.core import roles

# Customer service answers "where can I buy it, is it in stock": it reads the catalogue.
CUSTOMER_SERVICE = [f"mall.view_{model}" for model in ["category", "product", "sku", "stock"]]
# Stock counts are operations' (a count, a delivery): marketing merchandises and reads them.
NOT_MARKETING = ["mall.add_stock", "mall.change_stock"]


def marketing_reads_stock(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    Group.objects.get(name=roles.MARKETING).permissions.remove(
        *Permission.objects.filter(
            content_type__app_label="mall",
            codename__in=[name.split(".")[1] for name in NOT_MARKETING],
        )
    )


class Migration(migrations.Migration):
    dependencies = [("mall", "0005_catalogue_roles")]
    operations = [
        migrations.RunPython(
            lambda apps, _: roles.grant(apps, {roles.CUSTOMER_SERVICE: CUSTOMER_SERVICE}),
            migrations.RunPython.noop,
        ),
        migrations.RunPython(marketing_reads_stock, migrations.RunPython.noop),
    ]

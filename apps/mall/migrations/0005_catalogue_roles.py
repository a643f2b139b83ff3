from django.db import migrations

from apps.core import roles

CATALOGUE = ["category", "product", "sku", "tierprice", "shelf", "stock"]
MANAGE = [f"mall.{action}_{model}" for model in CATALOGUE for action in ("add", "change", "view")]
VIEW = [f"mall.view_{model}" for model in [*CATALOGUE, "reservation"]]
GRANTS = {roles.OPERATIONS: MANAGE + VIEW, roles.MARKETING: MANAGE, roles.FINANCE: VIEW}


def forget_product_permissions_of_skus(apps, schema_editor):
    """0003 renamed the model, and with it the content type its permissions hang on: the
    SKU's "…_product" permissions are leftovers, now that products are models of their own."""
    Permission = apps.get_model("auth", "Permission")
    Permission.objects.filter(
        content_type__app_label="mall", content_type__model="sku", codename__endswith="_product"
    ).delete()


class Migration(migrations.Migration):
    dependencies = [("mall", "0004_catalogue"), ("stores", "0002_hq_roles")]
    operations = [
        migrations.RunPython(forget_product_permissions_of_skus, migrations.RunPython.noop),
        migrations.RunPython(lambda apps, _: roles.grant(apps, GRANTS), migrations.RunPython.noop),
    ]

from django.db import migrations


class Migration(migrations.Migration):
    """What was a product is a SKU: products (SPU) group SKUs from 0004 on."""

    dependencies = [("mall", "0002_roles")]
    operations = [
        migrations.RemoveConstraint(model_name="product", name="product_price_not_negative"),
        migrations.RemoveConstraint(
            model_name="product", name="product_member_price_within_price"
        ),
        migrations.RenameModel("Product", "Sku"),
    ]

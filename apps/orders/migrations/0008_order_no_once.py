"""An order has no number until its checkout takes one, once (no provisional number)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("orders", "0007_payment_channel")]

    operations = [
        migrations.AlterField(
            model_name="order",
            name="order_no",
            field=models.CharField(
                max_length=40, null=True, unique=True, verbose_name="order number"
            ),
        ),
    ]

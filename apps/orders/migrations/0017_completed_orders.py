"""Online orders already picked up or received before orders were completed on handing over
(apps.orders.fulfilment) are completed now; back, they are paid again."""

from django.db import migrations


def complete(apps, _schema_editor):
    Order = apps.get_model("orders", "Order")
    Order.objects.filter(status="paid", fulfilment__status="done").update(status="completed")


def uncomplete(apps, _schema_editor):
    Order = apps.get_model("orders", "Order")
    Order.objects.filter(status="completed", fulfilment__status="done").update(status="paid")


class Migration(migrations.Migration):
    dependencies = [("orders", "0016_online_share_valid_from")]

    operations = [migrations.RunPython(complete, uncomplete)]

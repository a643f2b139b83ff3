from django.db import migrations

SYSTEM = ["issuance", "pending", "breakage"]


def create_accounts(apps, schema_editor):
    Account = apps.get_model("points", "Account")
    for kind in SYSTEM:
        Account.objects.get_or_create(kind=kind)


class Migration(migrations.Migration):
    dependencies = [("points", "0001_initial")]
    operations = [migrations.RunPython(create_accounts, migrations.RunPython.noop)]

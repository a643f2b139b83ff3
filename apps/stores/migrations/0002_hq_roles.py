"""HQ roles as groups, with the permissions of what exists so far. Later apps grant their own."""

from django.db import migrations

from apps.core import roles

GRANTS = {
    roles.OPERATIONS: [
        "core.add_user", "core.change_user", "core.view_user",
        "core.view_auditentry", "core.view_event", "core.change_event",
        "distributors.add_region", "distributors.change_region", "distributors.view_region",
        "distributors.add_distributor", "distributors.change_distributor",
        "distributors.view_distributor",
        "stores.add_store", "stores.change_store", "stores.view_store",
        "stores.add_staff", "stores.change_staff", "stores.delete_staff", "stores.view_staff",
        "stores.add_posapikey", "stores.change_posapikey", "stores.view_posapikey",
    ],
    roles.MARKETING: [
        "distributors.view_region", "distributors.view_distributor", "stores.view_store",
    ],
    roles.FINANCE: [
        "distributors.view_region", "distributors.view_distributor", "stores.view_store",
        "core.view_auditentry",
    ],
    roles.CUSTOMER_SERVICE: [
        "distributors.view_distributor", "stores.view_store", "stores.view_staff",
        "core.view_user",
    ],
}


def create_roles(apps, schema_editor):
    roles.grant(apps, GRANTS)


def remove_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=roles.HQ_ROLES).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("stores", "0001_initial"),
        ("core", "0001_initial"),
        ("distributors", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]
    operations = [migrations.RunPython(create_roles, remove_roles)]

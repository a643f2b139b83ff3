from django.db import migrations

from apps.core import roles, schedules

SCHEDULES = [
    ("marketing: send due messages", "apps.marketing.tasks.messages_send_task", "*", "*"),
]
TEMPLATES = [
    "marketing.add_messagetemplate",
    "marketing.change_messagetemplate",
    "marketing.view_messagetemplate",
]
GRANTS = {
    roles.OPERATIONS: [*TEMPLATES, "marketing.view_message"],
    roles.MARKETING: [*TEMPLATES, "marketing.view_message"],
    roles.CUSTOMER_SERVICE: ["marketing.view_messagetemplate", "marketing.view_message"],
}


def install(apps, _schema_editor):
    schedules.install(apps, SCHEDULES)
    roles.grant(apps, GRANTS)


class Migration(migrations.Migration):
    dependencies = [
        ("marketing", "0001_initial"),
        ("core", "0002_schedules"),
        ("stores", "0002_hq_roles"),
    ]
    operations = [
        migrations.RunPython(install, lambda apps, _: schedules.uninstall(apps, SCHEDULES))
    ]

from django.db import migrations

from apps.core import roles, schedules

SCHEDULES = [
    ("marketing: make today's care lists", "apps.marketing.tasks.care_lists_task", "10", "6"),
]
CARE_TASKS = [
    "marketing.add_caretask",
    "marketing.change_caretask",
    "marketing.view_caretask",
]
GRANTS = {
    roles.OPERATIONS: [*CARE_TASKS, "marketing.view_carecall"],
    roles.MARKETING: [*CARE_TASKS, "marketing.view_carecall"],
}


def install(apps, _schema_editor):
    schedules.install(apps, SCHEDULES)
    roles.grant(apps, GRANTS)


class Migration(migrations.Migration):
    dependencies = [("marketing", "0006_care")]
    operations = [
        migrations.RunPython(install, lambda apps, _: schedules.uninstall(apps, SCHEDULES))
    ]

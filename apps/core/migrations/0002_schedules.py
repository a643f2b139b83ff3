"""The outbox and idempotency jobs' schedules for celery beat (editable in the admin)."""

from django.db import migrations

from apps.core import schedules

SCHEDULES = [
    ("core: retry undelivered events", "apps.core.tasks.events_retry_task", "*", "*"),
    ("core: forget old idempotency keys", "apps.core.tasks.idempotency_keys_purge_task", "30", "3"),
]


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]
    operations = [
        migrations.RunPython(
            lambda apps, _: schedules.install(apps, SCHEDULES),
            lambda apps, _: schedules.uninstall(apps, SCHEDULES),
        )
    ]

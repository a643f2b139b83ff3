import os

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("huiji")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@signals.import_modules.connect
def _refuse_unsafe_start(**kwargs):
    """A worker or beat refuses to start where runserver would (apps/core/checks.py): before
    it loads the tasks, and before beat reads its schedules."""
    from apps.core.checks import refuse_unsafe_start

    refuse_unsafe_start()

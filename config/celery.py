import logging
import os

from celery import Celery, signals

from config.priority import cpu_priority_change

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


@signals.worker_init.connect
def _lower_priority(**kwargs):
    """A worker runs HUIJI_WORKER_PRIORITY (10 by default; 0 to share equally) nice levels
    below normal, before it starts the processes that run its tasks: what it does (events,
    jobs, messages) can wait out a rush, and the tills and PostgreSQL cannot."""
    steps = int(os.environ.get("HUIJI_WORKER_PRIORITY", "10"))
    if not cpu_priority_change(steps):
        logging.getLogger(__name__).warning(
            "HUIJI_WORKER_PRIORITY=%s needs CAP_SYS_NICE: the worker runs at normal CPU priority",
            steps,
        )

from celery import shared_task

from apps.analytics.services import rollups_refresh


@shared_task
def rollups_refresh_task() -> None:
    rollups_refresh()

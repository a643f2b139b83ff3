from celery import shared_task

from apps.points.services import points_expire_due, points_mature_due


@shared_task
def points_mature_task() -> None:
    points_mature_due()


@shared_task
def points_expire_task() -> None:
    points_expire_due()

from celery import shared_task

from apps.tiers.services import tiers_review_due


@shared_task
def tiers_review_task() -> None:
    tiers_review_due()

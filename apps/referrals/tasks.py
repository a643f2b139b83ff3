from celery import shared_task

from apps.referrals.commissions import commissions_release_due


@shared_task
def commissions_release_task() -> None:
    commissions_release_due()

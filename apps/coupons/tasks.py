from celery import shared_task

from apps.coupons.batches import coupons_birthday_issue, issue_batch_run, issue_batches_resume
from apps.coupons.jobs import coupons_expire_due, coupons_remind_expiring


@shared_task
def issue_batch_run_task(batch_id: int) -> None:
    issue_batch_run(batch_id=batch_id)


@shared_task
def issue_batches_resume_task() -> None:
    issue_batches_resume()


@shared_task
def coupons_expire_task() -> None:
    coupons_expire_due()


@shared_task
def coupons_remind_task() -> None:
    coupons_remind_expiring()


@shared_task
def coupons_birthday_task() -> None:
    coupons_birthday_issue()

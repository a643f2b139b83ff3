from celery import shared_task

from apps.orders.services import orders_expire_due


@shared_task
def orders_expire_task() -> None:
    orders_expire_due()

from celery import shared_task

from apps.core.events import event_dispatch, events_retry_due
from apps.core.idempotency import idempotency_keys_purge


@shared_task
def events_dispatch_task(event_ids: list[int]) -> None:
    for event_id in event_ids:
        event_dispatch(event_id=event_id)


@shared_task
def events_retry_task() -> None:
    events_retry_due()


@shared_task
def idempotency_keys_purge_task() -> None:
    idempotency_keys_purge()

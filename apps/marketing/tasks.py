from celery import shared_task

from apps.marketing.care import care_lists_make
from apps.marketing.outbox import messages_send_due
from apps.marketing.receipts import receipts_pull, receipts_purge


@shared_task
def messages_send_task() -> None:
    messages_send_due()


@shared_task
def campaign_run_task(campaign_id: int) -> None:
    from apps.marketing.campaigns import campaign_run

    campaign_run(campaign_id=campaign_id)


@shared_task
def care_lists_task() -> None:
    care_lists_make()


@shared_task
def sms_receipts_pull_task() -> None:
    """Pull the receipts Tencent holds (when SMS_RECEIPTS_PULL is on), and forget old ones:
    the one job about receipts, run every 5 minutes on every site."""
    receipts_pull()
    receipts_purge()

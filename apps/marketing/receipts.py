"""Delivery receipts (回执): the SMS provider's word that a text reached the phone or did not.

They come by the provider's callback (POST sms/receipts/<SMS_RECEIPT_TOKEN>) or, where
the provider lets Huiji ask and SMS_RECEIPTS_PULL is on, by a job pulling them
(`receipts_pull`). Each is kept once by the provider's id (DeliveryReceipt) and given to the
message sent under that id that has none yet: the same receipt twice changes nothing, and a
receipt that comes before the sending job recorded the id waits for it (the job applies
the receipts of the ids it records). A receipt is kept RECEIPT_KEEP_DAYS, long after its
message took it or any sending job could have recorded its id (`receipts_purge`)."""

from datetime import timedelta

from django.conf import settings
from django.db.models import Case, Exists, F, OuterRef, Subquery, Value, When
from django.utils import timezone

from apps.core.sms import SmsReceipt, sms_backend
from apps.marketing.models import Channel, DeliveryReceipt, Message

PULL_ROUNDS = 10  # batches one pull job takes at most; the next run takes the rest
RECEIPT_KEEP_DAYS = 7
PURGE_BATCH = 5000


def receipts_record(receipts: list[SmsReceipt]) -> int:
    """Keep the receipts not kept yet and give them to their messages; how many messages
    took one."""
    DeliveryReceipt.objects.bulk_create(
        [
            DeliveryReceipt(
                provider_id=receipt.provider_id,
                delivered=receipt.delivered,
                error=receipt.error[:200],
                reported_at=receipt.reported_at,
            )
            for receipt in receipts
        ],
        ignore_conflicts=True,
        unique_fields=["provider_id"],
    )
    return receipts_apply(provider_ids=sorted({receipt.provider_id for receipt in receipts}))


def receipts_apply(*, provider_ids: list[str]) -> int:
    """The texts sent under these ids, without a delivery yet, take their receipt's:
    delivered, or not delivered with the provider's reason. One update."""
    if not provider_ids:
        return 0
    receipt = DeliveryReceipt.objects.filter(provider_id=OuterRef("provider_id"))
    return Message.objects.filter(
        Exists(receipt),
        provider_id__any=provider_ids,
        channel=Channel.SMS,
        status=Message.Status.SENT,
        delivery=Message.Delivery.UNKNOWN,
    ).update(
        delivery=Case(
            When(Exists(receipt.filter(delivered=True)), then=Value(Message.Delivery.DELIVERED)),
            default=Value(Message.Delivery.UNDELIVERED),
        ),
        delivered_at=Subquery(receipt.values("reported_at")[:1]),
        error=Case(
            When(Exists(receipt.filter(delivered=True)), then=F("error")),
            default=Subquery(receipt.values("error")[:1]),
        ),
    )


def receipts_pull() -> int:
    """Ask the SMS provider for the receipts it holds, if it can be asked and
    SMS_RECEIPTS_PULL is on; how many messages took one."""
    backend = sms_backend()
    if not settings.SMS_RECEIPTS_PULL or not hasattr(backend, "receipts_pull"):
        return 0
    applied = 0
    for _round in range(PULL_ROUNDS):
        receipts = backend.receipts_pull()
        applied += receipts_record(receipts)
        if len(receipts) < backend.PULL_LIMIT:
            break
    return applied


def receipts_purge(*, now=None) -> int:
    """Forget receipts received more than RECEIPT_KEEP_DAYS ago, in batches; how many.
    Safe to run again."""
    cutoff = (now or timezone.now()) - timedelta(days=RECEIPT_KEEP_DAYS)
    deleted = 0
    while True:
        old = DeliveryReceipt.objects.filter(received_at__lt=cutoff).values("pk")[:PURGE_BATCH]
        count, _by_model = DeliveryReceipt.objects.filter(pk__in=old).delete()
        deleted += count
        if count < PURGE_BATCH:
            return deleted

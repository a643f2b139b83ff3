"""What orders tell distribution, through events. Each handler is idempotent."""

from apps.core.events import on_event
from apps.referrals.commissions import commissions_reverse, commissions_write


@on_event("order_paid")
def write_commissions(event) -> None:
    commissions_write(order_id=event.payload["order"])


@on_event("order_refunded")
def reverse_commissions(event) -> None:
    commissions_reverse(refund_id=event.payload["refund"])

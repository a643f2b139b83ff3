"""Paying for an order placed in the mini-program: the gateway's prepay, its notice that the
member paid, the cancelling of orders given up or not paid in time, and the refund of
payments no order can keep (late payments)."""

import logging

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy

from apps.core.errors import DomainError
from apps.core.events import event_emit
from apps.core.queue import enqueue
from apps.core.rows import row_insert
from apps.coupons.redemption import coupons_release
from apps.orders.checkout import order_settle
from apps.orders.errors import (
    NoticeOrderUnknown,
    OrderNotPayable,
    PaymentChannelFixed,
    PaymentGatewayError,
    PaymentRejected,
    WechatBrowserPayerUnknown,
)
from apps.orders.fulfilment import fulfilment_cancel, fulfilment_paid
from apps.orders.models import LatePayment, Order, Payment
from apps.orders.payments import (
    REFUND_ABNORMAL,
    REFUND_CLOSED,
    REFUND_PROCESSING,
    REFUND_SUCCESS,
    PaymentNotice,
    RefundResult,
    payment_backend,
    refund_ask,
)
from apps.points.models import Entry
from apps.points.selectors import entry_by_cause
from apps.points.services import points_reverse

logger = logging.getLogger(__name__)


def order_payment_start(
    *, order: Order, channel: str = Order.PaymentChannel.MINIPROGRAM, now=None
) -> dict:
    """What the client needs to pay an unpaid order in `channel` (the mini-program or
    WeChat's browser): `{"backend": name, **params}`. A network call, so never inside a
    transaction: the order is committed (and numbered for good) before the gateway hears of
    it. The gateway is asked once per order and its prepay id kept, so a retry, a replayed
    placement or a second device signs the same prepay and never opens another. A prepay
    pays as one WeChat user of one app, and the gateway refuses the same order number with
    other params: the first prepay fixes the order's channel, and another is refused
    (PaymentChannelFixed). A refusal no retry can mend (the member never signed in with
    WeChat) cancels the order, giving its coupons and points back; one the member mends
    by letting WeChat's browser sign them in does not."""
    if order.status != Order.Status.CREATED or (
        order.expires_at is not None and order.expires_at <= (now or timezone.now())
    ):
        raise OrderNotPayable()
    backend = payment_backend()
    prepay_id = order.prepay_id
    if prepay_id and order.payment_channel != channel:
        raise PaymentChannelFixed()
    if not prepay_id:
        order.payment_channel = channel
        try:
            prepay_id = backend.prepay(order)
        except (PaymentGatewayError, WechatBrowserPayerUnknown):
            raise  # the order waits: the client asks again, or it expires
        except DomainError:
            order_cancel(order=order)
            raise
        # Two first asks at once get the same prepay id from the gateway; the first is kept,
        # and fixes the channel for the other too.
        if not Order.objects.filter(pk=order.pk, prepay_id="").update(
            prepay_id=prepay_id, payment_channel=channel
        ):
            order.refresh_from_db(fields=["prepay_id", "payment_channel"])
            if order.payment_channel != channel:
                raise PaymentChannelFixed()
            prepay_id = order.prepay_id
    return {"backend": backend.name, **backend.params(order, prepay_id)}


def order_pay(*, notice: PaymentNotice, now=None) -> Order:
    """The gateway says the member paid. A repeated notice changes nothing. A payment no
    order can keep — for an order already cancelled (its time ran out, or the member gave
    it up), or of another amount than the order's payable (the order is then cancelled) —
    is recorded as a LatePayment and refunded through the gateway by a task started once
    this commits."""
    order, late = _order_pay(notice, now or timezone.now())
    if late is not None:
        from apps.orders.tasks import late_payment_refund_task

        transaction.on_commit(lambda: enqueue(late_payment_refund_task, late.pk))
    return order


@transaction.atomic
def _order_pay(notice: PaymentNotice, now) -> tuple[Order, LatePayment | None]:
    if notice.amount <= 0:
        raise PaymentRejected()
    order = (
        Order.objects.select_for_update(of=("self",))
        .select_related("store", "member", "fulfilment")
        .filter(order_no=notice.order_no)
        .first()
    )
    if order is None:
        raise NoticeOrderUnknown()
    transaction_id = notice.transaction_id
    # A notice repeated: the gateway names each payment of an order once, so one for an
    # order still awaiting payment is never a repeat.
    if order.status != Order.Status.CREATED and (
        order.paid_at is not None
        or Payment.objects.filter(transaction_id=transaction_id).exists()
        or LatePayment.objects.filter(transaction_id=transaction_id).exists()
    ):
        return order, None
    if order.status == Order.Status.CANCELLED:
        logger.warning("Order %s was paid after it was cancelled; refunding", order.order_no)
        return order, _late_payment(order, notice, LatePayment.Reason.CANCELLED, now)
    if order.status != Order.Status.CREATED:
        raise OrderNotPayable()
    if notice.amount != order.payable:
        # Not what the member was asked for: no sale at a price nobody agreed to. The money
        # goes back and the order's coupons and points too; finance sees why.
        logger.error(
            "Order %s: the gateway reports %s paid, %s payable; cancelling and refunding",
            order.order_no,
            notice.amount,
            order.payable,
        )
        order = order_cancel(order=order)
        return order, _late_payment(order, notice, LatePayment.Reason.AMOUNT_MISMATCH, now)
    order = order_settle(order, amount=notice.amount, transaction_id=transaction_id, now=now)
    fulfilment_paid(order)
    return order, None


def _late_payment(order: Order, notice: PaymentNotice, reason: str, now) -> LatePayment:
    late = LatePayment(
        order=order,
        transaction_id=notice.transaction_id,
        amount=notice.amount,
        reason=reason,
        refund_no=f"late-{notice.transaction_id}"[:64],
        received_at=now,
    )
    row_insert(late)
    return late


# What the payer reads in WeChat as the refund's reason (gettext: the site's language)
_LATE_REFUND_REASON = {
    LatePayment.Reason.CANCELLED: gettext_lazy(
        "Order %(order_no)s was cancelled before it was paid"
    ),
    LatePayment.Reason.AMOUNT_MISMATCH: gettext_lazy(
        "Order %(order_no)s was paid another amount than it came to"
    ),
}

# What each of the backend's refund states makes of a late payment
_LATE_REFUND_STATUS = {
    REFUND_SUCCESS: LatePayment.Status.REFUNDED,
    REFUND_PROCESSING: LatePayment.Status.REFUNDING,
    REFUND_ABNORMAL: LatePayment.Status.ABNORMAL,
    REFUND_CLOSED: LatePayment.Status.CLOSED,
}


def late_payment_refund(*, late_payment_id: int, now=None) -> LatePayment:
    """Give a late payment back through the gateway, or, once asked, ask where the refund
    stands; safe to run again and at once (the gateway makes one refund of one refund
    number). It is refunded only when the gateway says the refund succeeded; a failure to
    reach the gateway is counted, and asked again by the next run of orders_expire_task."""
    late = LatePayment.objects.select_related("order").get(pk=late_payment_id)
    if late.status != LatePayment.Status.REFUNDING:
        return late
    result = refund_ask(
        late,
        transaction_id=late.transaction_id,
        amount=late.amount,
        total=late.amount,
        reason=_LATE_REFUND_REASON[late.reason] % {"order_no": late.order.order_no},
    )
    if result is None:
        return LatePayment.objects.get(pk=late.pk)
    return _late_refund_record(late, result, now=now)


def late_payment_refund_noticed(*, result: RefundResult, now=None) -> LatePayment | None:
    """The gateway's notice of where a refund stands. One of a refund Huiji did not ask
    for (finance refunding in the gateway's own console) is acknowledged and left alone."""
    late = LatePayment.objects.filter(refund_no=result.refund_no).first()
    if late is None:
        logger.warning("A refund notice for %s, not a late payment's", result.refund_no)
        return None
    if result.amount is not None and result.amount != late.amount:
        logger.error(
            "Refund %s: the gateway reports %s, %s asked",
            late.refund_no,
            result.amount,
            late.amount,
        )
        return late  # left refunding: the next query says where it stands
    return _late_refund_record(late, result, now=now)


def _late_refund_record(late: LatePayment, result: RefundResult, *, now, **changes):
    status = _LATE_REFUND_STATUS[result.status]
    changes["last_error"] = result.detail[:200]
    if result.refund_id:
        changes["gateway_refund_id"] = result.refund_id[:64]
    if status == LatePayment.Status.REFUNDED:
        changes["refunded_at"] = now or timezone.now()
    if status != LatePayment.Status.REFUNDING:
        logger.log(
            logging.INFO if status == LatePayment.Status.REFUNDED else logging.ERROR,
            "Late payment %s: refund %s",
            late.transaction_id,
            result.status,
        )
    # A refund's end is final: a late query's or notice's answer never changes it again.
    LatePayment.objects.filter(pk=late.pk, status=LatePayment.Status.REFUNDING).update(
        status=status, **changes
    )
    return LatePayment.objects.get(pk=late.pk)


def late_payments_refund_due(*, now=None) -> int:
    """Ask the gateway again for the late payments it has not refunded yet (never asked,
    or still processing); how many it has refunded now."""
    pending = LatePayment.objects.filter(status=LatePayment.Status.REFUNDING).order_by("pk")
    done = [
        late_payment_refund(late_payment_id=pk, now=now)
        for pk in pending.values_list("pk", flat=True)
    ]
    return sum(late.status == LatePayment.Status.REFUNDED for late in done)


@transaction.atomic
def order_cancel(*, order: Order) -> Order:
    """An unpaid order is given up: its coupons and points go back to the member, an online
    order's reserved stock to the shelf, and its fulfilment is cancelled."""
    order = Order.objects.select_for_update().get(pk=order.pk)
    if order.status != Order.Status.CREATED:
        return order
    coupons_release(order_id=order.pk)
    if spent := entry_by_cause(Entry.CauseKind.ORDER, order.pk, Entry.Kind.REDEEM):
        points_reverse(
            entry=spent,
            cause_kind=Entry.CauseKind.ORDER,
            cause_id=order.pk,
            description=f"订单 {order.order_no} 取消退回积分",
        )
    fulfilment_cancel(order_id=order.pk)
    Order.objects.filter(pk=order.pk).update(status=Order.Status.CANCELLED)
    event_emit(name="order_cancelled", payload={"order": order.pk, "member": order.member_id})
    order.refresh_from_db()
    return order


def orders_expire_due(*, now=None, batch: int = 500) -> int:
    """Unpaid orders past their time are cancelled, each in its own transaction (each has
    its own coupons and points to give back); a rerun finds none left. The gateway is asked
    first whether the member paid after all (a notice lost on the way): such an order is
    paid, not cancelled. One the gateway cannot answer for waits for the next run."""
    now = now or timezone.now()
    backend = payment_backend()
    expired, after = 0, 0
    while due := list(
        Order.objects.filter(
            status=Order.Status.CREATED, expires_at__lte=now, pk__gt=after
        ).order_by("pk")[:batch]
    ):
        expired += sum(_order_expire(order, backend) for order in due)
        after = due[-1].pk
    return expired


def _order_expire(order: Order, backend) -> int:
    """1 if the order was cancelled, 0 if it was paid after all or is left for the next run.
    Paid another amount, it is cancelled and the money given back (order_pay)."""
    try:
        if (notice := backend.query(order)) is not None:
            return int(order_pay(notice=notice).status == Order.Status.CANCELLED)
    except DomainError as exc:  # the gateway did not answer, or answered what cannot be paid
        logger.warning("Order %s left unpaid for now: %s", order.order_no, exc.code)
        return 0
    order_cancel(order=order)
    return 1

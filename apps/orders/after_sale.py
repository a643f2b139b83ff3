"""售后: a member's refund request on an order paid online, the decision of the store's owner
or manager or of HQ, and the refund through the payment gateway.

The gateway is asked after the approval commits, never inside a transaction, under a refund
number fixed at approval (the same number again is the same refund). Only when it says the
money went back is the order's refund recorded (apps.orders.refunds, exactly as for a till's
refund) and the goods not yet handed over put back in stock, once, under the request's lock.
A gateway that cannot be reached leaves the request approved with its error, to be asked
again (approving again, or orders_expire_task); one that refuses fails it, nothing applied."""

import logging
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from apps.core.audit import audit_record, snapshot
from apps.core.errors import PermissionDenied
from apps.core.queue import enqueue
from apps.core.rows import row_insert
from apps.mall.stock import stock_release
from apps.orders.errors import (
    OrderNotRefundable,
    RefundRequestDecided,
    RefundRequestNotAllowed,
    RefundRequestOpen,
)
from apps.orders.models import Order, RefundRequest
from apps.orders.payments import (
    REFUND_ABNORMAL,
    REFUND_CLOSED,
    REFUND_PROCESSING,
    REFUND_SUCCESS,
    RefundResult,
    refund_ask,
)
from apps.orders.refunds import RefundLineInput, order_refund, order_refund_preview
from apps.stores.models import Staff, Store
from apps.stores.scoping import store_roles

logger = logging.getLogger(__name__)

DECIDE_PERMISSION = "orders.decide_refundrequest"
DECIDING_ROLES = frozenset({Staff.Role.OWNER, Staff.Role.MANAGER})
REFUNDABLE = (Order.Status.PAID, Order.Status.COMPLETED, Order.Status.PARTIALLY_REFUNDED)


def may_decide_refunds(user, store: Store) -> bool:
    """Who decides the refund requests on `store`'s orders: HQ staff holding
    `orders.decide_refundrequest` (customer service, operations), and the store's (or its
    dealer's) owners and managers; never a clerk or a guide."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    if user.is_staff and user.has_perm(DECIDE_PERMISSION):
        return True
    return bool(store_roles(user, store) & DECIDING_ROLES)


def _refund_lines(request: RefundRequest) -> list[RefundLineInput]:
    return [RefundLineInput(sku=item["sku"], quantity=item["quantity"]) for item in request.lines]


@transaction.atomic
def refund_request_create(
    *,
    order: Order,
    lines: list[RefundLineInput] | None = None,
    amount: Decimal | None = None,
    reason: str,
    reason_text: str = "",
) -> RefundRequest:
    """The member asks for `lines` or `amount` of a paid online order back: within what is
    still refundable (the refund's own arithmetic says how much that is), one open request
    per order."""
    order = Order.objects.select_for_update().select_related("store").get(pk=order.pk)
    if order.channel not in RefundRequest.CHANNELS or order.status not in REFUNDABLE:
        raise RefundRequestNotAllowed()
    if RefundRequest.objects.filter(order=order, status__in=RefundRequest.OPEN).exists():
        raise RefundRequestOpen()
    try:
        preview = order_refund_preview(order=order, lines=lines, amount=amount)
    except OrderNotRefundable as exc:
        raise RefundRequestNotAllowed() from exc
    request = RefundRequest(
        order=order,
        lines=[{"sku": item.sku, "quantity": item.quantity} for item in lines or []],
        amount=preview.amount,
        reason=reason,
        reason_text=reason_text,
    )
    # The order's lock makes the check above the answer; the constraint backs it up.
    if not row_insert(request, unless_taken="refund_request_one_open_per_order"):
        raise RefundRequestOpen()
    _audit(request, "refund_request.create", actor=f"member:{order.member_id}")
    return request


@transaction.atomic
def refund_request_cancel(*, request: RefundRequest) -> RefundRequest:
    """The member withdraws a request nobody has decided yet; again, it stays withdrawn."""
    request = RefundRequest.objects.select_for_update().get(pk=request.pk)
    if request.status == RefundRequest.Status.CANCELLED:
        return request
    if request.status != RefundRequest.Status.REQUESTED:
        raise RefundRequestDecided(status=request.get_status_display())
    before = snapshot(request)
    request.status = RefundRequest.Status.CANCELLED
    request.save(update_fields=["status"])
    _audit(
        request, "refund_request.cancel", actor=f"member:{request.order.member_id}", before=before
    )
    return request


def _decision_lock(request_id: int, actor) -> RefundRequest:
    request = (
        RefundRequest.objects.select_for_update(of=("self",))
        .select_related("order__store")
        .get(pk=request_id)
    )
    if not may_decide_refunds(actor, request.order.store):
        raise PermissionDenied()
    return request


@transaction.atomic
def refund_request_refuse(*, request_id: int, actor, note: str = "") -> RefundRequest:
    request = _decision_lock(request_id, actor)
    if request.status != RefundRequest.Status.REQUESTED:
        raise RefundRequestDecided(status=request.get_status_display())
    before = snapshot(request)
    request.status = RefundRequest.Status.REFUSED
    request.note, request.decided_by, request.decided_at = note, actor, timezone.now()
    request.save(update_fields=["status", "note", "decided_by", "decided_at"])
    _audit(request, "refund_request.refuse", actor=actor, before=before)
    return request


def refund_request_approve(*, request_id: int, actor, note: str = "") -> RefundRequest:
    """Approve a request and have the gateway refund it once this commits. Approving one
    already approved (a double click, two people at once, a retry after the gateway failed)
    asks the gateway again under the same refund number: one refund, whatever the clicks."""
    request = _approve(request_id, actor, note)
    if request.status == RefundRequest.Status.APPROVED:
        from apps.orders.tasks import refund_request_refund_task

        transaction.on_commit(lambda: enqueue(refund_request_refund_task, request.pk))
    return request


@transaction.atomic
def _approve(request_id: int, actor, note: str) -> RefundRequest:
    request = _decision_lock(request_id, actor)
    if request.status == RefundRequest.Status.APPROVED:
        return request
    if request.status != RefundRequest.Status.REQUESTED:
        raise RefundRequestDecided(status=request.get_status_display())
    before = snapshot(request)
    lines = _refund_lines(request)
    preview = order_refund_preview(
        order=request.order, lines=lines or None, amount=None if lines else request.amount
    )
    request.status = RefundRequest.Status.APPROVED
    request.note, request.decided_by, request.decided_at = note, actor, timezone.now()
    request.amount, request.cash = preview.amount, preview.cash_refunded
    request.refund_no = f"{request.order.order_no}-AS{request.pk}"
    request.save(
        update_fields=["status", "note", "decided_by", "decided_at", "amount", "cash", "refund_no"]
    )
    _audit(request, "refund_request.approve", actor=actor, before=before)
    return request


def refund_request_refund(*, request_id: int, now=None) -> RefundRequest:
    """Have the gateway give an approved request's cash back, or, once asked, ask where the
    refund stands. Safe to run again and at once: the gateway makes one refund of one refund
    number, and its success is recorded once."""
    request = RefundRequest.objects.select_related("order").get(pk=request_id)
    if request.status != RefundRequest.Status.APPROVED:
        return request
    if not request.cash:  # paid wholly with points: no money to give back
        return _refund_request_record(request, RefundResult(request.refund_no, REFUND_SUCCESS), now)
    payment = request.order.payments.order_by("pk").first()
    result = refund_ask(
        request,
        transaction_id=payment.transaction_id,
        amount=request.cash,
        total=payment.amount,
        reason=gettext("Refund of order %(order_no)s") % {"order_no": request.order.order_no},
    )
    if result is None:
        return RefundRequest.objects.get(pk=request.pk)
    return _refund_request_record(request, result, now)


def refund_request_refund_noticed(*, result: RefundResult, now=None) -> RefundRequest | None:
    """The gateway's notice of where a request's refund stands; None if the refund is not
    a refund request's."""
    request = RefundRequest.objects.filter(refund_no=result.refund_no).first()
    if request is None:
        return None
    if result.amount is not None and result.amount != request.cash:
        logger.error(
            "Refund %s: the gateway reports %s, %s asked",
            request.refund_no,
            result.amount,
            request.cash,
        )
        return request  # left approved: the next query says where it stands
    return _refund_request_record(request, result, now)


def refund_requests_refund_due(*, now=None) -> int:
    """Ask the gateway again for the approved requests not refunded yet; how many are now."""
    pending = RefundRequest.objects.filter(status=RefundRequest.Status.APPROVED).order_by("pk")
    done = [
        refund_request_refund(request_id=pk, now=now) for pk in pending.values_list("pk", flat=True)
    ]
    return sum(request.status == RefundRequest.Status.REFUNDED for request in done)


@transaction.atomic
def _refund_request_record(request: RefundRequest, result: RefundResult, now) -> RefundRequest:
    """What the gateway answered, applied once under the request's lock: a success records
    the order's refund and puts back the goods not handed over; a refusal fails the request;
    a refund still processing waits for its notice or the next query."""
    request = (
        RefundRequest.objects.select_for_update(of=("self",))
        .select_related("order")
        .get(pk=request.pk)
    )
    if request.status != RefundRequest.Status.APPROVED:
        return request  # a refund's end is final: a late answer never changes it again
    before = snapshot(request)
    request.last_error = result.detail[:200]
    if result.refund_id:
        request.gateway_refund_id = result.refund_id[:64]
    if result.status == REFUND_PROCESSING:
        request.save(update_fields=["last_error", "gateway_refund_id"])
        return request
    if result.status in (REFUND_ABNORMAL, REFUND_CLOSED):
        request.status = RefundRequest.Status.FAILED
        request.save(update_fields=["status", "last_error", "gateway_refund_id"])
        logger.error("Refund request %s: the gateway's refund %s", request.pk, result.status)
        _audit(request, "refund_request.fail", actor="gateway", before=before)
        return request
    lines = _refund_lines(request)
    refund = order_refund(
        order=request.order,
        refund_id=f"after-sale-{request.pk}",
        lines=lines or None,
        amount=None if lines else request.amount,
    )
    if refund.cash_refunded != request.cash:
        # The member spent earned points between approval and the gateway's answer: the
        # gateway gave back what was asked; finance sees both in the audit log.
        logger.error(
            "Refund request %s: the gateway gave back %s, the refund records %s",
            request.pk,
            request.cash,
            refund.cash_refunded,
        )
    if lines:
        stock_release(
            order_id=request.order_id, items=[(item.sku, item.quantity) for item in lines]
        )
    request.status, request.refund = RefundRequest.Status.REFUNDED, refund
    request.refunded_at = now or timezone.now()
    request.save(
        update_fields=["status", "refund", "refunded_at", "last_error", "gateway_refund_id"]
    )
    _audit(request, "refund_request.refund", actor="gateway", before=before)
    return request


def _audit(request: RefundRequest, action: str, *, actor, before: dict | None = None) -> None:
    audit_record(
        actor=actor,
        action=action,
        target=request,
        before=before,
        after=snapshot(request),
        reason=request.note or request.reason_text,
    )

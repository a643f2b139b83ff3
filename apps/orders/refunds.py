"""退款: an order's refunds, by lines or by an amount, and what goes back with them — points
earned and growth value taken back in proportion, points used given back, coupons on a
full refund, and an online delivery's shipping fee on a full refund before the goods left.
The arithmetic is apps.orders.pricing's."""

from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils.translation import gettext as _

from apps.core.errors import IdempotencyConflict
from apps.core.events import event_emit
from apps.core.money import money
from apps.coupons.redemption import coupons_restore
from apps.orders.errors import OrderNotRefundable
from apps.orders.models import Fulfilment, Order, OrderLine, Refund, RefundLine
from apps.orders.pricing import refund_share, refund_shares, refund_units, refunded_fraction
from apps.points.earning import first_purchase_bonus_reverse
from apps.points.models import Entry
from apps.points.selectors import entry_by_cause
from apps.points.services import points_reverse
from apps.tiers.services import growth_reverse


@dataclass(frozen=True)
class RefundLineInput:
    sku: str
    quantity: int


@transaction.atomic
def order_refund(
    *,
    order: Order,
    refund_id: str,
    lines: list[RefundLineInput] | None = None,
    amount: Decimal | None = None,
) -> Refund:
    """退款, by lines or by an amount: never more than paid and not yet refunded. Takes back
    the earned points and growth value in proportion (what the member already spent of the
    points is kept from the cash at the points rate), gives back the points used, and on a
    full refund the coupons. Idempotent on `refund_id`."""
    order = Order.objects.select_for_update().get(pk=order.pk)
    if (done := Refund.objects.filter(order=order, refund_id=refund_id).first()) is not None:
        if not _refund_asked_for(done, lines, amount):
            raise IdempotencyConflict(_("This refund_id was already used for another refund."))
        return done
    if order.status not in (
        Order.Status.PAID,
        Order.Status.COMPLETED,
        Order.Status.PARTIALLY_REFUNDED,
    ):
        raise OrderNotRefundable()
    order_lines = list(order.lines.select_for_update().order_by("line_no"))
    asked = _units_asked(lines)
    shares = refund_shares(order_lines, asked, amount)
    units = refund_units(order_lines, asked)
    value = sum(shares, Decimal(0))
    goods_after = order.refunded_amount + value  # the fee is only ever in the last refund
    full = goods_after == _goods_paid(order) and (
        not lines
        or all(
            line.refunded_quantity + quantity == line.quantity
            for line, quantity in zip(order_lines, units, strict=True)
        )
    )
    shipping_back = order.shipping_fee if full and not _shipped(order) else Decimal(0)
    refunded_after = goods_after + shipping_back
    given = list(zip(order_lines, units, shares, strict=True))
    refund = Refund.objects.create(
        order=order,
        refund_id=refund_id,
        refund_no=f"{order.order_no}-R{order.refunds.count() + 1}",
        amount=value + shipping_back,
    )
    RefundLine.objects.bulk_create(
        RefundLine(refund=refund, line=line, quantity=quantity, amount=share)
        for line, quantity, share in given
        if share or quantity
    )
    for line, quantity, share in given:
        if share or quantity:
            OrderLine.objects.filter(pk=line.pk).update(
                refunded_amount=F("refunded_amount") + share,
                refunded_quantity=F("refunded_quantity") + quantity,
            )
    fraction = refunded_fraction(_goods_paid(order), goods_after, full)
    _reverse_points_and_growth(order, refund, fraction, full)
    if full:
        refund.coupons_restored = coupons_restore(order_id=order.pk)
    Refund.objects.filter(pk=refund.pk).update(
        points_reversed=refund.points_reversed,
        points_returned=refund.points_returned,
        shortfall_points=refund.shortfall_points,
        shortfall_cash=refund.shortfall_cash,
        coupons_restored=refund.coupons_restored,
    )
    Order.objects.filter(pk=order.pk).update(
        refunded_amount=refunded_after,
        status=Order.Status.REFUNDED if full else Order.Status.PARTIALLY_REFUNDED,
    )
    event_emit(
        name="order_refunded",
        payload={
            "order": order.pk,
            "refund": refund.pk,
            "member": order.member_id,
            "amount": str(value + shipping_back),
            "full": full,
        },
    )
    refund.refresh_from_db()
    return refund


def _goods_paid(order: Order) -> Decimal:
    """What was paid for the goods: points, growth and coupons come back in proportion to
    the refunds of it. An online delivery's shipping fee is not goods."""
    return order.paid_amount - order.shipping_fee


def _shipped(order: Order) -> bool:
    """Whether the goods have left (shipped, or picked up or received): a full refund gives
    the shipping fee back only before that."""
    return Fulfilment.objects.filter(
        order=order, status__in=[Fulfilment.Status.SHIPPED, Fulfilment.Status.DONE]
    ).exists()


class _Preview(Exception):
    def __init__(self, refund: Refund):
        super().__init__()
        self.refund = refund


def order_refund_preview(
    *, order: Order, lines: list[RefundLineInput] | None = None, amount: Decimal | None = None
) -> Refund:
    """What order_refund would record now (its amount, the cash kept for spent points, …),
    found by making it and rolling it back, so the one arithmetic answers: a gateway refund
    asks the payer's bank for the cash the refund will record. Raises as order_refund does."""
    try:
        with transaction.atomic():
            raise _Preview(
                order_refund(order=order, refund_id="preview", lines=lines, amount=amount)
            )
    except _Preview as preview:
        return preview.refund


def _units_asked(lines: list[RefundLineInput] | None) -> dict[str, int]:
    asked: dict[str, int] = {}
    for item in lines or []:
        asked[item.sku] = asked.get(item.sku, 0) + item.quantity
    return asked


def _refund_asked_for(done: Refund, lines: list[RefundLineInput] | None, amount) -> bool:
    """Whether a replayed refund_id asks for what its refund gave: the same units of each
    SKU, or the same amount (a refund by amount gives back no units)."""
    given: dict[str, int] = {}
    for sku, quantity in done.lines.filter(quantity__gt=0).values_list("line__sku", "quantity"):
        given[sku] = given.get(sku, 0) + quantity
    if not lines:  # what the lines gave: a last refund also gives the shipping fee back
        return not given and amount == sum(done.lines.values_list("amount", flat=True))
    return _units_asked(lines) == given


def _reverse_points_and_growth(order: Order, refund: Refund, fraction: Decimal, full: bool):
    """Each refund takes what the refunds so far should have taken, less what earlier ones
    took: the shares add up exactly, and a full refund takes the rest. Growth first, then
    points: the lock order of a checkout."""
    growth_back = refund_share(order.growth_earned, fraction) - refund_share(
        order.growth_earned, refunded_fraction(_goods_paid(order), order.refunded_amount, False)
    )
    if growth_back > 0:
        growth_reverse(
            order_id=order.pk,
            refund_id=refund.pk,
            description=f"订单 {order.order_no} 退款扣减成长值",
            amount=growth_back,
        )
    before = order.refunds.exclude(pk=refund.pk)
    claimed = sum(r.points_reversed + r.shortfall_points for r in before)
    returned = sum(r.points_returned for r in before)
    due_back = refund_share(order.points_earned, fraction) - claimed
    if due_back > 0 and (earn := entry_by_cause(Entry.CauseKind.ORDER, order.pk, Entry.Kind.EARN)):
        back, short = points_reverse(
            entry=earn,
            cause_kind=Entry.CauseKind.REFUND,
            cause_id=refund.pk,
            description=f"订单 {order.order_no} 退款扣回积分",
            amount=due_back,
        )
        refund.points_reversed = back.amount if back else 0
        refund.shortfall_points = short
    if full and order.member_id:
        refund.shortfall_points += first_purchase_bonus_reverse(
            member=order.member,
            order_id=order.pk,
            refund_id=refund.pk,
            description=f"订单 {order.order_no} 全额退款扣回首单奖励",
        )
    if refund.shortfall_points and settings.REFUND_SPENT_POINTS == "cash":
        refund.shortfall_cash = min(
            money(Decimal(refund.shortfall_points) / settings.POINTS_DEDUCTION_RATE),
            refund.amount,
        )
    give_back = refund_share(order.points_used, fraction) - returned
    spent = give_back > 0 and entry_by_cause(Entry.CauseKind.ORDER, order.pk, Entry.Kind.REDEEM)
    if spent:
        points_reverse(
            entry=spent,
            cause_kind=Entry.CauseKind.REFUND,
            cause_id=refund.pk,
            description=f"订单 {order.order_no} 退款退回积分",
            amount=give_back,
        )
        refund.points_returned = give_back

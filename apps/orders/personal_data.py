"""A member's orders and cart as they download them with their data (PIPL, `me/export`)."""

from django.db.models import Prefetch

from apps.members.models import Member
from apps.orders.models import Cart, Fulfilment, Order, OrderLine


def member_orders_data(member: Member) -> list[dict]:
    """Every order of the member, oldest first, with its lines, payments and refunds; the
    same few queries however many orders there are."""
    orders = (
        Order.objects.filter(member=member)
        .select_related("store", "fulfilment")
        .prefetch_related(
            Prefetch("lines", queryset=OrderLine.objects.order_by("line_no")),
            "payments",
            "refunds",
        )
        .order_by("created_at", "pk")
    )
    return [
        {
            "order_no": order.order_no,
            "channel": order.channel,
            "store": order.store.name,
            "status": order.status,
            "created_at": order.created_at,
            "paid_at": order.paid_at,
            "subtotal": order.subtotal,
            "member_discount": order.member_discount,
            "coupon_discount": order.coupon_discount,
            "points_deduction": order.points_deduction,
            "shipping_fee": order.shipping_fee,
            "payable": order.payable,
            "fulfilment": _fulfilment_data(order),
            "paid_amount": order.paid_amount,
            "refunded_amount": order.refunded_amount,
            "points_used": order.points_used,
            "points_earned": order.points_earned,
            "growth_earned": order.growth_earned,
            "lines": [
                {
                    "sku": line.sku,
                    "name": line.name,
                    "quantity": line.quantity,
                    "unit_price": line.unit_price,
                    "paid": line.paid,
                    "refunded_quantity": line.refunded_quantity,
                    "refunded_amount": line.refunded_amount,
                }
                for line in order.lines.all()
            ],
            "payments": [
                {"amount": p.amount, "method": p.method, "at": p.created_at}
                for p in order.payments.all()
            ],
            "refunds": [
                {"refund_no": r.refund_no, "amount": r.amount, "at": r.created_at}
                for r in order.refunds.all()
            ],
        }
        for order in orders
    ]


def member_cart_data(member: Member) -> dict | None:
    cart = Cart.objects.filter(member=member).select_related("store").first()
    if cart is None:
        return None
    return {
        "store": cart.store.name,
        "updated_at": cart.updated_at,
        "lines": [
            {"sku": sku, "quantity": quantity}
            for sku, quantity in cart.lines.values_list("sku__sku", "quantity")
        ],
    }


def _fulfilment_data(order: Order) -> dict | None:
    """An online order's pickup or delivery, with the address it went to."""
    try:
        fulfilment = order.fulfilment
    except Fulfilment.DoesNotExist:
        return None
    return {
        "kind": fulfilment.kind,
        "status": fulfilment.status,
        "pickup_code": fulfilment.pickup_code,
        "recipient": fulfilment.recipient,
        "recipient_phone": fulfilment.recipient_phone,
        "region": fulfilment.region,
        "address": fulfilment.address,
        "carrier": fulfilment.carrier,
        "tracking_no": fulfilment.tracking_no,
    }


# What a delivery keeps of a recipient once its member closed their account: the region
# (what shipping rules and figures need), nothing that names or reaches a person.
FORGOTTEN = "***"


def deliveries_recipient_forget(*, member_id: int) -> int:
    """A member closed their account: their deliveries forget whom and where they went,
    except those still to be shipped, which keep it until they leave (`delivery_ship`
    forgets it then). Safe to run again. How many were forgotten."""
    return (
        Fulfilment.objects.filter(order__member_id=member_id, kind=Fulfilment.Kind.DELIVERY)
        .exclude(status=Fulfilment.Status.TO_HAND_OVER)
        .exclude(address=FORGOTTEN)
        .update(recipient="", recipient_phone="", address=FORGOTTEN)
    )

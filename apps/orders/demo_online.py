"""The demo's online orders in S001–S003's malls, one in every state an online order passes
through, and a few store payments (在线收款), with the shipping rules and online sales shares
that checkout and the settlement statement show. Everything goes through the services a
member, a store or the gateway's notice would call: orders are placed (stock reserved,
pickup codes drawn), paid by the gateway's notice, cancelled, handed over, shipped,
received, asked to refund and decided. Each order has a fixed external id, so a second run
adds nothing; choices come from a generator of the seed's own."""

import random
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from apps.core.demo import DemoContext
from apps.mall.models import Sku
from apps.mall.selectors import skus_sellable_at
from apps.members.addresses import address_save, member_addresses
from apps.members.models import Member
from apps.orders.after_sale import (
    refund_request_approve,
    refund_request_create,
    refund_request_refund_noticed,
    refund_request_refuse,
)
from apps.orders.builder import ItemInput, checkout_build
from apps.orders.checkout import order_place
from apps.orders.fulfilment import (
    Recipient,
    delivery_receive,
    delivery_ship,
    pickup_complete,
    stock_location,
)
from apps.orders.models import Fulfilment, OnlineShare, Order, RefundRequest, ShippingRule
from apps.orders.paying import order_cancel, order_pay, orders_expire_due
from apps.orders.payments import REFUND_SUCCESS, PaymentNotice, RefundResult
from apps.orders.refunds import RefundLineInput
from apps.orders.store_pay import store_pay_checkout, store_pay_place
from apps.stores.models import Staff, Store

MALL_STORES = ("S001", "S002", "S003")
# (region, fee, free from): delivery costs 10 yuan, free from 199; far regions 25, never free
SHIPPING_RULES = [
    ("", Decimal("10.00"), Decimal("199.00")),
    ("新疆维吾尔自治区", Decimal("25.00"), None),
    ("西藏自治区", Decimal("25.00"), None),
]
# (store code or None: every franchise store, category or "": every category, percent)
ONLINE_SHARES = [(None, "", Decimal("70.00")), ("S003", "美妆", Decimal("80.00"))]
SHARES_SINCE_DAYS = 30
# Each state of an online order, by the steps that lead to it, and how long ago it was placed
STATES = [
    ("unpaid", "pickup", timedelta(minutes=5)),
    ("cancelled", "pickup", timedelta(hours=20)),
    ("expired", "delivery", timedelta(days=1)),
    ("to_pick_up", "pickup", timedelta(hours=3)),
    ("picked_up", "pickup", timedelta(days=2)),
    ("to_ship", "delivery", timedelta(hours=6)),
    ("shipped", "delivery", timedelta(days=2)),
    ("received", "delivery", timedelta(days=5)),
    ("refund_requested", "pickup", timedelta(days=1, hours=2)),
    ("refunded", "delivery", timedelta(days=4)),
    ("refund_refused", "pickup", timedelta(days=3)),
]
CARRIERS = ["顺丰速运", "中通快递", "京东物流", "EMS"]
STORE_PAYMENTS = 2  # per store
REASONS = [RefundRequest.Reason.DAMAGED, RefundRequest.Reason.NOT_AS_DESCRIBED]


def seed(ctx: DemoContext, *, demo: Member) -> None:
    """`demo`, the demo member, buys none of these: API.md promises what they hold."""
    _rules()
    rng = random.Random(f"online-{ctx.seed}")
    now = timezone.now()
    made, paid_in_store = 0, 0
    for store in Store.objects.filter(code__in=MALL_STORES).order_by("code"):
        shoppers = Member.objects.filter(status=Member.Status.ACTIVE).exclude(pk=demo.pk)
        members = list(shoppers.filter(home_store=store).order_by("pk")[:40]) or list(
            shoppers.order_by("pk")[:40]
        )
        owner = Staff.objects.get(store=store, role=Staff.Role.OWNER).user
        for n, (state, kind, ago) in enumerate(STATES, start=1):
            made += _online_order(
                ctx, rng, store, rng.choice(members), state, kind, owner, n=n, when=now - ago
            )
        for n in range(1, STORE_PAYMENTS + 1):
            paid_in_store += _store_payment(
                rng, store, rng.choice(members), n=n, when=now - timedelta(hours=n * 7)
            )
    orders_expire_due(now=now)  # the job that cancels what was not paid in time
    ctx.notes.append(
        f"Online orders: {made} new in {', '.join(MALL_STORES)}'s malls, one in every state "
        "(unpaid, expired, cancelled, to pick up, picked up, to ship, shipped, received, "
        f"refund requested, refunded, refused), and {paid_in_store} new store payments; "
        "shipping rules and online sales shares for checkout and the settlement statement."
    )


def _rules() -> None:
    for region, fee, free_from in SHIPPING_RULES:
        ShippingRule.objects.get_or_create(
            region=region, defaults={"fee": fee, "free_from": free_from}
        )
    stores = {store.code: store for store in Store.objects.filter(code__in=MALL_STORES)}
    # HQ set them a while ago (the console takes new ones from today on), so they hold for
    # every demo order; a store and category with a share already is left as it is.
    since = timezone.localdate() - timedelta(days=SHARES_SINCE_DAYS)
    for code, category, percent in ONLINE_SHARES:
        store = stores[code] if code else None
        if not OnlineShare.objects.filter(store=store, category=category).exists():
            OnlineShare.objects.create(
                store=store, category=category, percent=percent, valid_from=since
            )


def _online_order(ctx, rng, store, member, state, kind, owner, *, n: int, when) -> int:
    external_id = f"DEMO-MALL-{store.code}-{n:02d}"
    if Order.objects.filter(store=store, external_id=external_id).exists():
        return 0
    checkout = checkout_build(
        store=store,
        channel="mall",
        member=member,
        items=_basket(rng, store, kind),
        guide_code=member.guide,
    )
    checkout = replace(
        checkout,
        fulfilment=kind,
        recipient=_recipient(ctx, member, store) if kind == Fulfilment.Kind.DELIVERY else None,
    )
    order = order_place(checkout=checkout, external_id=external_id, now=when)
    if state in ("unpaid", "expired"):
        return 1  # expired: the job below cancels it, its time to pay long over
    if state == "cancelled":
        order_cancel(order=order)
        return 1
    order = _pay(order, when=when + timedelta(minutes=2))
    if state in ("picked_up", "refund_refused"):
        pickup_complete(
            store=store,
            pickup_code=order.fulfilment.pickup_code,
            actor=owner,
            now=when + timedelta(hours=5),
        )
    if state in ("shipped", "received", "refunded"):
        delivery_ship(
            order_id=order.pk,
            ship_from=None,
            carrier=rng.choice(CARRIERS),
            tracking_no=f"{rng.randrange(10**11, 10**12)}",
            actor="hq_ops",
            now=when + timedelta(days=1),
        )
    if state in ("received", "refunded"):
        delivery_receive(order=order, now=when + timedelta(days=2))
    if state in ("refund_requested", "refunded", "refund_refused"):
        _after_sale(rng, order, state, owner)
    return 1


def _basket(rng: random.Random, store: Store, kind: str) -> list[ItemInput]:
    """One or two SKUs the mall sells with stock to spare where the order takes it from."""
    left = skus_sellable_at(
        store,
        _catalogue_skus(),
        stock_at=stock_location(store, kind),
    )
    plenty = sorted(sku for sku, count in left.items() if count >= 3)
    return [
        ItemInput(sku=sku, quantity=rng.randint(1, 2))
        for sku in rng.sample(plenty, rng.randint(1, 2))
    ]


def _catalogue_skus() -> list[str]:
    return list(Sku.objects.filter(sku__startswith="SKU").values_list("sku", flat=True))


def _recipient(ctx: DemoContext, member: Member, store: Store) -> Recipient:
    """The member's default address, written into their address book the first time."""
    address = member_addresses(member).first() or address_save(
        member=member,
        name=member.name or ctx.fake.name(),
        phone=member.phone,
        region=f"{store.province}/{store.city}/{store.district}",
        detail=ctx.fake.street_address(),
    )
    return Recipient(
        name=address.name, phone=address.phone, region=address.region, detail=address.detail
    )


def _pay(order: Order, *, when) -> Order:
    """The gateway's notice that the member paid, as WeChat Pay (or the sandbox) sends it."""
    order_pay(
        notice=PaymentNotice(
            order_no=order.order_no,
            amount=order.payable,
            transaction_id=f"demo-{order.order_no}",
        ),
        now=when,
    )
    return Order.objects.select_related("fulfilment").get(pk=order.pk)


def _after_sale(rng: random.Random, order: Order, state: str, owner) -> None:
    line = order.lines.order_by("line_no").first()
    asked = refund_request_create(
        order=order,
        lines=[RefundLineInput(sku=line.sku, quantity=1)],
        reason=rng.choice(REASONS),
        reason_text="演示：包装有破损",
    )
    if state == "refund_refused":
        refund_request_refuse(request_id=asked.pk, actor=owner, note="商品已使用，不符合退货条件")
    elif state == "refunded":
        approved = refund_request_approve(request_id=asked.pk, actor=owner, note="同意退货退款")
        refund_request_refund_noticed(  # the gateway's notice that the money went back
            result=RefundResult(
                refund_no=approved.refund_no,
                status=REFUND_SUCCESS,
                refund_id=f"demo-{approved.refund_no}",
                amount=approved.cash,
            )
        )


def _store_payment(rng: random.Random, store: Store, member: Member, *, n: int, when) -> int:
    external_id = f"DEMO-PAY-{store.code}-{n:02d}"
    if Order.objects.filter(store=store, external_id=external_id).exists():
        return 0
    checkout = store_pay_checkout(
        store=store, member=member, amount=Decimal(rng.randrange(3000, 60000)) / 100
    )
    order = store_pay_place(checkout=checkout, join=False, external_id=external_id, now=when)
    _pay(order, when=when + timedelta(minutes=1))
    return 1

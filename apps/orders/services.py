"""Checkout and refunds, the same for every channel: quote → place → pay → refund.

Every write path takes its row locks in one order — the order and its lines, coupons, the
member's tier state, the member row, the ledger's issuance and pending accounts, the
member's and the store's accounts, then the store's order counter — so checkouts, refunds
and bonus awards never wait on each other in a circle. The rows every order shares come
last, held for the few statements before the commit.
"""

import logging
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import ROUND_FLOOR, Decimal

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from apps.core.errors import DomainError, IdempotencyConflict
from apps.core.events import event_emit
from apps.core.money import money
from apps.core.rows import row_insert, row_update
from apps.coupons.errors import CouponExpired
from apps.coupons.models import Coupon
from apps.coupons.selectors import coupon_terms, template_cached
from apps.coupons.services import (
    coupons_lock,
    coupons_release,
    coupons_restore,
    coupons_use,
    coupons_use_at_once,
    usability_problem,
)
from apps.mall.selectors import products_by_sku
from apps.members.models import Member
from apps.orders.errors import (
    DuplicateOrder,
    EmptyOrder,
    MembersOnly,
    NoticeOrderUnknown,
    OrderNotPayable,
    OrderNotRefundable,
    OrderTooLarge,
    PaymentChannelFixed,
    PaymentGatewayError,
    PaymentRejected,
    RefundLineUnknown,
    RefundTooLarge,
    WechatBrowserPayerUnknown,
)
from apps.orders.models import (
    LatePayment,
    Order,
    OrderCounter,
    OrderLine,
    Payment,
    Refund,
    RefundLine,
)
from apps.orders.payments import (
    REFUND_ABNORMAL,
    REFUND_CLOSED,
    REFUND_PROCESSING,
    REFUND_SUCCESS,
    PaymentNotice,
    RefundResult,
    payment_backend,
)
from apps.orders.pricing import CouponOffer, PointsOffer, PriceLine, Quote, allocate, price
from apps.points.earning import (
    first_purchase_bonus_reverse,
    order_points_quote,
    points_award_order,
)
from apps.points.models import Entry
from apps.points.rules import OrderLine as PointsLine
from apps.points.rules import PointsQuote
from apps.points.selectors import points_available
from apps.points.services import points_entries_rename, points_redeem, points_reverse
from apps.stores.models import Staff, Store
from apps.tiers.models import Tier
from apps.tiers.selectors import member_tier
from apps.tiers.services import growth_earn, growth_entries_rename, growth_reverse

logger = logging.getLogger(__name__)

# The most an order may come to: what its amounts' columns hold (12 digits, 2 after the point).
_SUBTOTAL = Order._meta.get_field("subtotal")
ORDER_MOST = (
    Decimal(10) ** (_SUBTOTAL.max_digits - _SUBTOTAL.decimal_places)
    - Decimal(10) ** -_SUBTOTAL.decimal_places
)

# The tier benefit that applies in each order channel.
BENEFIT_CHANNEL = {"pos": "store", "miniprogram": "miniprogram", "mall": "mall"}


@dataclass(frozen=True)
class LineInput:
    sku: str
    quantity: int
    unit_price: Decimal
    name: str = ""


@dataclass(frozen=True)
class Checkout:
    """What a cashier, the mini-program or the dashboard asks to buy."""

    store: Store
    channel: str
    lines: list[LineInput]
    member: Member | None = None
    coupon_codes: list[str] = field(default_factory=list)
    points: int = 0
    guide: Staff | None = None


@dataclass
class Priced:
    quote: Quote
    categories: dict[str, str]
    tier: Tier | None = None  # the member's tier the order is priced and earns at
    points: PointsQuote | None = None

    @property
    def points_to_earn(self) -> int:
        return self.points.total if self.points else 0

    def as_dict(self) -> dict:
        """The quote body of API.md."""
        q = self.quote
        return {
            "subtotal": q.subtotal,
            "member_discount": q.member_discount,
            "coupon_discount": q.coupon_discount,
            "points_deduction": q.points_deduction,
            "points_used": q.points_used,
            "payable": q.payable,
            "points_to_earn": self.points_to_earn,
            "applied": q.applied,
            "rejected": q.rejected,
        }


def order_quote(checkout: Checkout) -> Priced:
    """Price an order without writing anything: the quote every channel shows."""
    if not checkout.lines:
        raise EmptyOrder()
    products = products_by_sku(line.sku for line in checkout.lines)
    member = checkout.member
    # A platform's sale is recorded at what was paid there: no member price on top.
    imported = checkout.channel.startswith("platform:")
    price_lines = []
    for line in checkout.lines:
        product = products.get(line.sku)
        if product and product.members_only and member is None and not imported:
            raise MembersOnly(name=product.name)
        price_lines.append(
            PriceLine(
                sku=line.sku,
                name=line.name or (product.name if product else line.sku),
                category=product.category if product else "",
                quantity=line.quantity,
                unit_price=line.unit_price,
                member_price=product.member_price if product else None,
            )
        )
    tier = member_tier(member) if member else None
    quote = price(
        price_lines,
        is_member=member is not None and not imported,
        tier_percent=_tier_percent(tier, checkout.channel),
        coupons=_coupon_offers(checkout),
        points=_points_offer(member, checkout.points),
    )
    if quote.subtotal > ORDER_MOST:
        raise OrderTooLarge(most=ORDER_MOST)
    priced = Priced(
        quote=quote, categories={line.sku: line.category for line in price_lines}, tier=tier
    )
    if member is not None:
        priced.points = order_points_quote(
            member=member, store=checkout.store, lines=_points_lines(priced), tier=tier
        )
    return priced


def _tier_percent(tier: Tier | None, channel: str) -> Decimal:
    if tier is None:
        return Decimal(0)
    channel = BENEFIT_CHANNEL.get(channel, channel)
    benefit = next((b for b in tier.channel_benefits.all() if b.channel == channel), None)
    return benefit.discount_percent if benefit else tier.discount_percent


def _coupon_offers(checkout: Checkout) -> list[CouponOffer]:
    codes = list(dict.fromkeys(code.strip().upper() for code in checkout.coupon_codes if code))
    if not codes:
        return []
    found = {
        coupon.code: coupon
        for coupon in Coupon.objects.filter(code__in=codes, member=checkout.member)
    }
    for coupon in found.values():  # the template as cached, with where it can be used
        coupon.template = template_cached(coupon.template_id)
    now = timezone.now()
    offers = []
    for code in codes:
        coupon = found.get(code)
        refused, refused_code = "", "not_eligible"
        if coupon is None or checkout.member is None:
            refused, refused_code = _("this member has no coupon with this code"), "not_found"
        elif coupon.status == Coupon.Status.USED:
            refused, refused_code = _("it has already been used"), "already_used"
        elif coupon.status == Coupon.Status.LOCKED:
            refused, refused_code = _("it is held by another unpaid order"), "already_used"
        elif coupon.status != Coupon.Status.AVAILABLE or now >= coupon.valid_until:
            refused, refused_code = str(CouponExpired().render()), "expired"
        else:
            refused = usability_problem(
                coupon, store=checkout.store, channel=_coupon_channel(checkout.channel), now=now
            )
        offers.append(
            CouponOffer(
                code=code,
                label=coupon.template.name if coupon else code,
                stackable=coupon.template.stackable if coupon else False,
                terms=coupon_terms(coupon.template) if coupon and not refused else None,
                refused=refused,
                refused_code=refused_code,
            )
        )
    return offers


def _coupon_channel(channel: str) -> str:
    return "store" if channel == "pos" else channel


def _points_offer(member: Member | None, wanted: int) -> PointsOffer | None:
    if member is None or wanted <= 0:
        return None
    return PointsOffer(
        wanted=wanted,
        available=points_available(member),
        rate=settings.POINTS_DEDUCTION_RATE,
        cap=Decimal(settings.POINTS_DEDUCTION_CAP),
    )


def _points_lines(priced: Priced) -> list[PointsLine]:
    return [
        PointsLine(sku=line.sku, category=priced.categories[line.sku], paid=line.paid)
        for line in priced.quote.lines
    ]


def _growth(payable: Decimal) -> int:
    return int(payable.to_integral_value(rounding=ROUND_FLOOR)) * settings.GROWTH_PER_YUAN


# An order is written under a provisional number and takes its real one as its last write
# (_number): the store's counter row stays locked from then until the commit, and every
# other order at the store waits for it, so only a few short statements come after.
_PROVISIONAL = "~"


def _next_order_no(store: Store, now) -> str:
    """S001-20261125-0042: the store's next number of the day, in one statement (the row is
    made on the day's first order; SQLite and PostgreSQL both have upsert … RETURNING)."""
    day = timezone.localdate(now)
    table = OrderCounter._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (store_id, day, last) VALUES (%s, %s, 1) "
            f"ON CONFLICT (store_id, day) DO UPDATE SET last = {table}.last + 1 RETURNING last",
            [store.pk, day],
        )
        (last,) = cursor.fetchone()
    return f"{store.code}-{day:%Y%m%d}-{last:04d}"


@transaction.atomic(savepoint=False)  # no caller carries on after its errors
def order_place_paid(
    *,
    checkout: Checkout,
    external_id: str,
    payment_ref: str = "",
    now=None,
) -> Order:
    """A sale the POS (or a counter) reports as paid: the order, its lines, coupons used,
    points spent at this store, points earned (pending for the return window), growth
    value, and the `order_paid` event — all or nothing. `now` dates an imported sale."""
    now = now or timezone.now()
    order, priced = _order_create(checkout, external_id=external_id, now=now, paid_now=True)
    return _settle(order, amount=order.payable, transaction_id=payment_ref, now=now, priced=priced)


@transaction.atomic
def order_place(*, checkout: Checkout, now=None) -> Order:
    """A mini-program order awaiting payment: its coupons are held and its points taken
    (both come back if it is cancelled or not paid within ORDER_PAY_MINUTES)."""
    now = now or timezone.now()
    order, _priced = _order_create(checkout, external_id="", now=now, paid_now=False)
    _number(order, now)
    Order.objects.filter(pk=order.pk).update(
        order_no=order.order_no, expires_at=now + timedelta(minutes=settings.ORDER_PAY_MINUTES)
    )
    order.refresh_from_db()
    return order


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

        transaction.on_commit(lambda: late_payment_refund_task.delay(late.pk))
    return order


@transaction.atomic
def _order_pay(notice: PaymentNotice, now) -> tuple[Order, LatePayment | None]:
    if notice.amount <= 0:
        raise PaymentRejected()
    order = Order.objects.select_for_update().filter(order_no=notice.order_no).first()
    if order is None:
        raise NoticeOrderUnknown()
    transaction_id = notice.transaction_id
    if (
        Payment.objects.filter(transaction_id=transaction_id).exists()
        or LatePayment.objects.filter(transaction_id=transaction_id).exists()
        or (order.status != Order.Status.CREATED and order.paid_at is not None)
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
    return _settle(order, amount=notice.amount, transaction_id=transaction_id, now=now), None


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
    backend = payment_backend()
    try:
        result = backend.refund_query(late.refund_no) if late.gateway_refund_id else None
        if result is None:
            result = backend.refund(
                transaction_id=late.transaction_id,
                refund_no=late.refund_no,
                amount=late.amount,
                total=late.amount,
                reason=_LATE_REFUND_REASON[late.reason] % {"order_no": late.order.order_no},
            )
    except PaymentGatewayError as exc:
        LatePayment.objects.filter(pk=late.pk).update(
            attempts=F("attempts") + 1, last_error=(exc.detail or exc.code)[:200]
        )
        return LatePayment.objects.get(pk=late.pk)
    return _late_refund_record(late, result, now=now, attempts=F("attempts") + 1)


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
    """An unpaid order is given up: its coupons and points go back to the member."""
    order = Order.objects.select_for_update().get(pk=order.pk)
    if order.status != Order.Status.CREATED:
        return order
    ref = f"order:{order.pk}"
    coupons_release(order_ref=ref)
    if spent := Entry.objects.filter(idempotency_key=f"{ref}:points").first():
        points_reverse(
            entry=spent, key=f"{ref}:points-back", description=f"订单 {order.order_no} 取消退回积分"
        )
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


def _order_create(
    checkout: Checkout, *, external_id: str, now, paid_now: bool
) -> tuple[Order, Priced]:
    """The order under a provisional number and its lines; for an
    order awaiting payment its coupons held and points taken. A sale paid at once leaves
    both to `_settle`; the caller numbers the order last."""
    priced = order_quote(checkout)
    quote = priced.quote
    order = Order(
        order_no=_PROVISIONAL + uuid.uuid4().hex,
        channel=checkout.channel,
        store=checkout.store,
        member=checkout.member,
        guide=checkout.guide if checkout.guide and checkout.guide.serves(checkout.store) else None,
        external_id=external_id,
        subtotal=quote.subtotal,
        member_discount=quote.member_discount,
        coupon_discount=quote.coupon_discount,
        points_deduction=quote.points_deduction,
        payable=quote.payable,
        points_used=quote.points_used,
        quote=_json_ready(priced.as_dict()),
        created_at=now,
    )
    if not row_insert(order, unless_taken="order_external_id_once_per_store"):
        raise DuplicateOrder(external_id=external_id)
    OrderLine.objects.bulk_create(
        OrderLine(
            order=order,
            line_no=number,
            sku=line.sku,
            name=line.name,
            category=line.category,
            quantity=line.quantity,
            unit_price=line.unit_price,
            list_amount=line.list_amount,
            member_discount=line.member_discount,
            coupon_discount=line.coupon_discount,
            points_deduction=line.points_deduction,
            paid=line.paid,
        )
        for number, line in enumerate(quote.lines, start=1)
    )
    ref = f"order:{order.pk}"
    if quote.coupons_used and not paid_now:
        coupons_lock(
            codes=list(quote.coupons_used),
            member=checkout.member,
            order_ref=ref,
            store=checkout.store,
            channel=_coupon_channel(checkout.channel),
            now=now,
        )
    if not paid_now:
        _take_points(order)
    return order, priced


def _take_points(order: Order) -> None:
    if order.points_used:
        points_redeem(
            member=order.member,
            amount=order.points_used,
            key=f"order:{order.pk}:points",
            cause=f"order:{order.order_no}",
            description=f"订单 {order.order_no} 积分抵现",
            store=order.store,
            savepoint=False,  # placing or paying an order gives it all up on any error
        )


def _settle(
    order: Order,
    *,
    amount: Decimal,
    transaction_id: str,
    now,
    priced: Priced | None = None,
) -> Order:
    """Payment received: coupons used, `order_paid`, growth and points earned, points spent
    (a POS sale pays them now). What locks rows that other checkouts need comes last: the
    ledger's shared accounts and the store's, then (for a sale paid at once, numbered here)
    the store's order number of the day. `priced` is given for a sale paid as it is
    made, priced in this transaction; an order paid later was priced when placed.
    `transaction_id` defaults to one made from the order number."""
    paid_now = priced is not None
    discounts = {
        code: (Decimal(off), order.subtotal) for code, off in _coupon_discounts(order).items()
    }
    if discounts and paid_now:  # never held: checked and used in one step
        coupons_use_at_once(
            member=order.member,
            order_ref=f"order:{order.pk}",
            store=order.store,
            channel=_coupon_channel(order.channel),
            discounts=discounts,
            now=now,
        )
    elif discounts:
        coupons_use(order_ref=f"order:{order.pk}", store=order.store, discounts=discounts, now=now)
    # The order earns points at the tier the member held when buying, not the one its own
    # growth may lift them to: what the quote showed.
    if paid_now:
        tier = priced.tier
    elif order.member_id:
        tier = member_tier(order.member)
    else:
        tier = None
    first_purchase = bool(  # a purchase refunded in full was not one
        order.member_id
        and not Order.objects.filter(member_id=order.member_id, paid_at__isnull=False)
        .exclude(pk=order.pk)
        .exclude(status=Order.Status.REFUNDED)
        .exists()
    )
    event_emit(
        name="order_paid",
        payload={
            "order": order.pk,
            "member": order.member_id,
            "store": order.store_id,
            "payable": str(order.payable),
            "first_purchase": first_purchase,
        },
    )
    growth = _growth(order.payable) if order.member_id else 0
    if growth > 0:
        growth_earn(
            member=order.member,
            amount=growth,
            key=f"order:{order.pk}:growth",
            kind="order",
            cause=f"order:{order.order_no}",
            description=f"订单 {order.order_no} 消费成长值",
            now=now,
        )
    points_earned = 0
    if order.member_id:
        entry, _quote = points_award_order(
            member=order.member,
            store=order.store,
            lines=_points_lines(priced)
            if priced
            else [
                PointsLine(sku=line.sku, category=line.category, paid=line.paid)
                for line in order.lines.order_by("line_no")
            ],
            key=f"order:{order.pk}:earn",
            cause=f"order:{order.order_no}",
            description=f"订单 {order.order_no} 消费得积分",
            when=now,
            tier=tier,
            quote=priced.points if priced else None,
        )
        points_earned = entry.amount if entry else 0
    order.status, order.paid_amount, order.paid_at = Order.Status.PAID, order.payable, now
    order.points_earned, order.growth_earned, order.expires_at = points_earned, growth, None
    if paid_now:
        _take_points(order)
        _number(order, now)
    payment = Payment(
        order=order,
        amount=amount,
        method=order.channel,
        transaction_id=transaction_id or f"{order.channel}:{order.store_id}:{order.order_no}",
        created_at=now,
    )
    row_insert(payment)
    row_update(
        order,
        "order_no",
        "status",
        "paid_amount",
        "paid_at",
        "points_earned",
        "growth_earned",
        "expires_at",
    )
    return order


def _number(order: Order, now) -> None:
    """The order's real number, in place of the provisional one in its points and growth
    entries' causes and descriptions too (written in this transaction, seen by no one yet).
    The caller saves the order's."""
    provisional, order.order_no = order.order_no, _next_order_no(order.store, now)
    if order.member_id:
        ref = f"order:{order.pk}"
        points_entries_rename(
            keys=[f"{ref}:earn", f"{ref}:points"], old=provisional, new=order.order_no
        )
        if order.growth_earned:
            growth_entries_rename(keys=[f"{ref}:growth"], old=provisional, new=order.order_no)


def _coupon_discounts(order: Order) -> dict[str, str]:
    """What each coupon took off, as the quote stored with the order said."""
    return {
        item["coupon_code"]: item["amount"]
        for item in order.quote.get("applied", [])
        if item["type"] == "coupon"
    }


def _json_ready(value):
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {key: _json_ready(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_json_ready(item) for item in value]
    return value


# Refunds


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
    shares = _refund_shares(order, order_lines, lines, amount)
    value = sum(shares.values(), Decimal(0))
    refunded_after = order.refunded_amount + value
    full = refunded_after == order.paid_amount and (
        not lines
        or all(
            line.refunded_quantity + quantity == line.quantity
            for line, quantity in _quantities(order_lines, lines)
        )
    )
    refund = Refund.objects.create(
        order=order,
        refund_id=refund_id,
        refund_no=f"{order.order_no}-R{order.refunds.count() + 1}",
        amount=value,
    )
    RefundLine.objects.bulk_create(
        RefundLine(refund=refund, line=line, quantity=quantity, amount=shares[line.pk])
        for line, quantity in _quantities(order_lines, lines)
        if shares[line.pk] or quantity
    )
    for line, quantity in _quantities(order_lines, lines):
        if shares[line.pk] or quantity:
            OrderLine.objects.filter(pk=line.pk).update(
                refunded_amount=F("refunded_amount") + shares[line.pk],
                refunded_quantity=F("refunded_quantity") + quantity,
            )
    fraction = _fraction(order, refunded_after, full)
    _reverse_points_and_growth(order, refund, fraction, full)
    if full:
        refund.coupons_restored = coupons_restore(order_ref=f"order:{order.pk}")
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
            "amount": str(value),
            "full": full,
        },
    )
    refund.refresh_from_db()
    return refund


def _refund_asked_for(done: Refund, lines: list[RefundLineInput] | None, amount) -> bool:
    """Whether a replayed refund_id asks for what its refund gave: the same units of each
    SKU, or the same amount (a refund by amount gives back no units)."""
    given: dict[str, int] = {}
    for sku, quantity in done.lines.filter(quantity__gt=0).values_list("line__sku", "quantity"):
        given[sku] = given.get(sku, 0) + quantity
    if not lines:
        return not given and amount == done.amount
    asked: dict[str, int] = {}
    for item in lines:
        asked[item.sku] = asked.get(item.sku, 0) + item.quantity
    return asked == given


def _quantities(order_lines, lines: list[RefundLineInput] | None):
    """(order line, units refunded now) for each line; units go to lines in order."""
    wanted: dict[str, int] = {}
    for item in lines or []:
        wanted[item.sku] = wanted.get(item.sku, 0) + item.quantity
    for line in order_lines:
        left = line.quantity - line.refunded_quantity
        take = min(left, wanted.get(line.sku, 0))
        wanted[line.sku] = wanted.get(line.sku, 0) - take
        yield line, take


def _refund_shares(order, order_lines, lines, amount) -> dict[int, Decimal]:
    """What each line gives back now, in whole fen."""
    refundable = {line.pk: line.paid - line.refunded_amount for line in order_lines}
    if lines:
        missing: dict[str, int] = {}
        for item in lines:
            missing[item.sku] = missing.get(item.sku, 0) + item.quantity
        shares = {}
        for line, quantity in _quantities(order_lines, lines):
            if quantity:
                missing[line.sku] -= quantity
            left = line.quantity - line.refunded_quantity
            if quantity == 0:
                shares[line.pk] = Decimal(0)
            elif quantity == left:
                shares[line.pk] = refundable[line.pk]  # the last units take what is left
            else:
                shares[line.pk] = min(
                    money(line.paid * quantity / line.quantity), refundable[line.pk]
                )
        for sku, short in missing.items():
            if short > 0:
                raise RefundLineUnknown(sku=sku, quantity=short)
        return shares
    total = sum(refundable.values(), Decimal(0))
    if amount is None or amount <= 0 or amount > total:
        raise RefundTooLarge(refundable=total)
    parts = allocate(money(amount), [refundable[line.pk] for line in order_lines])
    return {line.pk: part for line, part in zip(order_lines, parts, strict=True)}


def _fraction(order: Order, refunded_after: Decimal, full: bool) -> Decimal:
    """How much of the order has now been refunded, all refunds together."""
    if full:
        return Decimal(1)
    if order.paid_amount <= 0:
        return Decimal(0)
    return refunded_after / order.paid_amount


def _reverse_points_and_growth(order: Order, refund: Refund, fraction: Decimal, full: bool):
    """Each refund takes what the refunds so far should have taken, less what earlier ones
    took: the shares add up exactly, and a full refund takes the rest. Growth first, then
    points: the lock order of a checkout."""
    ref = f"order:{order.pk}"
    growth_back = _share(order.growth_earned, fraction) - _share(
        order.growth_earned, _fraction(order, order.refunded_amount, False)
    )
    if growth_back > 0:
        growth_reverse(
            original_key=f"{ref}:growth",
            key=f"refund:{refund.pk}:growth",
            description=f"订单 {order.order_no} 退款扣减成长值",
            amount=growth_back,
        )
    before = order.refunds.exclude(pk=refund.pk)
    claimed = sum(r.points_reversed + r.shortfall_points for r in before)
    returned = sum(r.points_returned for r in before)
    due_back = _share(order.points_earned, fraction) - claimed
    if due_back > 0 and (earn := Entry.objects.filter(idempotency_key=f"{ref}:earn").first()):
        back, short = points_reverse(
            entry=earn,
            key=f"refund:{refund.pk}:earn",
            description=f"订单 {order.order_no} 退款扣回积分",
            amount=due_back,
        )
        refund.points_reversed = back.amount if back else 0
        refund.shortfall_points = short
    if full and order.member_id:
        refund.shortfall_points += first_purchase_bonus_reverse(
            member=order.member,
            order_id=order.pk,
            key=f"refund:{refund.pk}",
            description=f"订单 {order.order_no} 全额退款扣回首单奖励",
        )
    if refund.shortfall_points and settings.REFUND_SPENT_POINTS == "cash":
        refund.shortfall_cash = min(
            money(Decimal(refund.shortfall_points) / settings.POINTS_DEDUCTION_RATE),
            refund.amount,
        )
    give_back = _share(order.points_used, fraction) - returned
    if give_back > 0 and (spent := Entry.objects.filter(idempotency_key=f"{ref}:points").first()):
        points_reverse(
            entry=spent,
            key=f"refund:{refund.pk}:points",
            description=f"订单 {order.order_no} 退款退回积分",
            amount=give_back,
        )
        refund.points_returned = give_back


def _share(whole: int, fraction: Decimal) -> int:
    return int((whole * fraction).to_integral_value(rounding=ROUND_FLOOR))

"""Checkout, the same for every channel: quote → place (or a sale paid at once) → settle.

Every write path takes its row locks in one order — the order and its lines, coupons, the
store's order counter, the member's tier state, the member row, the member's parts of the
ledger's issuance and pending accounts, the member's and the store's accounts, and last the
stock rows an online order reserves (in key order) — so checkouts, refunds, cancellations
and bonus awards never wait on each other in a circle. An order takes its number (the
store's counter of the day) as soon as its coupons are settled, before anything that names
it is written: its points and growth entries carry the number from the start, and nothing
is renamed. On PostgreSQL the counter gives the number in a transaction of its own
(`_next_order_no`), so no sale holds it; on SQLite the counter row stays locked until the
commit. Stock rows are the hottest in a rush (every store's delivered orders share HQ's):
they are locked by the placement's last statements, and a sold-out SKU is refused by the
quote's plain read before anything is written or locked. Likewise a sale paid at once
spends its points last, after its payment: the store's account, which every sale spending
points at the store locks, is held for the redemption and the commit only.

Online orders (channel "mall") also pay a shipping fee for delivery (`order_shipping_fee`):
coupons and points apply to the goods only, and the fee is paid in cash on top of them.
"""

from dataclasses import dataclass, field
from datetime import timedelta
from decimal import ROUND_FLOOR, Decimal

from django.conf import settings
from django.db import connections, transaction
from django.utils import timezone

from apps.core.bulk import rows_insert
from apps.core.commits import committed_without_waiting
from apps.core.events import event_emit
from apps.core.rows import column, database_for_write, row_insert, row_update, table
from apps.coupons.redemption import (
    coupon_offers_check,
    coupons_lock,
    coupons_use,
    coupons_use_at_once,
)
from apps.coupons.selectors import coupon_terms
from apps.mall.errors import OutOfStock
from apps.mall.selectors import ForSale, products_by_sku, skus_sellable_at
from apps.mall.stock import stock_reserve
from apps.members.attribution import promoters_for
from apps.members.guides import guide_for
from apps.members.models import Member
from apps.orders.errors import (
    DuplicateOrder,
    EmptyOrder,
    MembersOnly,
    NotSoldAtStore,
    OrderTooLarge,
)
from apps.orders.fulfilment import Recipient, fulfilment_open, stock_location
from apps.orders.models import Fulfilment, Order, OrderCounter, OrderLine, Payment
from apps.orders.pricing import (
    CouponOffer,
    LineInput,
    PointsOffer,
    PriceLine,
    Quote,
    price,
)
from apps.orders.shipping import order_shipping_fee
from apps.points.earning import order_points_quote, points_award_order
from apps.points.models import Entry, PointsWindow
from apps.points.rules import OrderLine as PointsLine
from apps.points.rules import PointsQuote
from apps.points.selectors import points_available
from apps.points.services import points_redeem
from apps.points.windows import points_window_check
from apps.stores.models import Staff, Store
from apps.tiers.models import GrowthEntry, Tier
from apps.tiers.selectors import member_tier
from apps.tiers.services import growth_earn

# The most an order may come to, its goods and shipping fee together: what its amounts'
# columns hold (12 digits, 2 after the point).
_SUBTOTAL = Order._meta.get_field("subtotal")
ORDER_MOST = (
    Decimal(10) ** (_SUBTOTAL.max_digits - _SUBTOTAL.decimal_places)
    - Decimal(10) ** -_SUBTOTAL.decimal_places
)

# The tier benefit that applies in each order channel: paying a store by its QR (在线收款)
# is buying in the store.
BENEFIT_CHANNEL = {
    "pos": "store",
    "store_pay": "store",
    "miniprogram": "miniprogram",
    "mall": "mall",
}


@dataclass(frozen=True)
class Catalogue:
    """The catalogue entries of a checkout's SKUs at its member's tier (`products_by_sku`),
    read once for the lines and the quote."""

    tier: Tier | None
    products: dict[str, ForSale]


def catalogue_read(member: Member | None, skus) -> Catalogue:
    tier = member_tier(member) if member else None
    return Catalogue(tier=tier, products=products_by_sku(skus, tier_id=tier and tier.pk))


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
    # An online order's: "pickup" or "delivery" (Fulfilment.Kind), and where a delivery goes
    fulfilment: str = ""
    recipient: Recipient | None = None
    # What checkout_build read of the catalogue; order_quote reads it when it is absent.
    catalogue: Catalogue | None = None


@dataclass
class Priced:
    quote: Quote
    categories: dict[str, str]
    tier: Tier | None = None  # the member's tier the order is priced and earns at
    points: PointsQuote | None = None
    shipping_fee: Decimal = Decimal(0)

    @property
    def points_to_earn(self) -> int:
        return self.points.total if self.points else 0

    @property
    def payable(self) -> Decimal:
        return self.quote.payable + self.shipping_fee

    def as_dict(self) -> dict:
        """The quote body of API.md."""
        q = self.quote
        return {
            "subtotal": q.subtotal,
            "member_discount": q.member_discount,
            "coupon_discount": q.coupon_discount,
            "points_deduction": q.points_deduction,
            "points_used": q.points_used,
            "shipping_fee": self.shipping_fee,
            "payable": self.payable,
            "points_to_earn": self.points_to_earn,
            "applied": q.applied,
            "rejected": q.rejected,
        }


def order_quote(checkout: Checkout) -> Priced:
    """Price an order without writing anything: the quote every channel shows."""
    if not checkout.lines:
        raise EmptyOrder()
    if checkout.fulfilment:
        _online_check(checkout)
    member = checkout.member
    catalogue = checkout.catalogue or catalogue_read(member, (line.sku for line in checkout.lines))
    tier, products = catalogue.tier, catalogue.products
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
    quote = price(
        price_lines,
        is_member=member is not None and not imported,
        tier_percent=tier_percent(tier, store=checkout.store, channel=checkout.channel),
        coupons=_coupon_offers(checkout),
        points=_points_offer(member, checkout.points),
    )
    shipping_fee = _shipping_fee(checkout, quote, tier)
    if quote.subtotal + shipping_fee > ORDER_MOST:  # the most an order's columns hold
        raise OrderTooLarge(most=ORDER_MOST)
    priced = Priced(
        quote=quote,
        categories={line.sku: line.category for line in price_lines},
        tier=tier,
        shipping_fee=shipping_fee,
    )
    if member is not None:
        priced.points = order_points_quote(
            member=member, store=checkout.store, lines=_points_lines(priced), tier=tier
        )
    return priced


def _online_check(checkout: Checkout) -> None:
    """An online order buys only what HQ sells at its store, and no more than the stock it
    is reserved from has left (a plain read: the reservation decides under its lock)."""
    wanted: dict[str, int] = {}
    for line in checkout.lines:
        wanted[line.sku] = wanted.get(line.sku, 0) + line.quantity
    left = skus_sellable_at(
        checkout.store, wanted, stock_at=stock_location(checkout.store, checkout.fulfilment)
    )
    for sku, quantity in wanted.items():
        if sku not in left:
            raise NotSoldAtStore(sku=sku)
        if left[sku] < quantity:
            raise OutOfStock(sku=sku, left=max(left[sku], 0))


def _shipping_fee(checkout: Checkout, quote: Quote, tier: Tier | None) -> Decimal:
    if checkout.fulfilment != Fulfilment.Kind.DELIVERY or (tier and tier.free_shipping):
        return Decimal(0)
    goods = quote.subtotal - quote.member_discount - quote.coupon_discount
    return order_shipping_fee(region=checkout.recipient.region, goods=goods)


def tier_percent(tier: Tier | None, *, store: Store | None, channel: str) -> Decimal:
    """The tier discount a member of `tier` gets on an order in `channel` at `store`: the
    tier's benefit in that channel, or its discount; none on a store payment where HQ
    turned it off for the store."""
    if tier is None or (channel == "store_pay" and not store.pay_tier_discount):
        return Decimal(0)
    channel = BENEFIT_CHANNEL.get(channel, channel)
    benefit = next((b for b in tier.channel_benefits.all() if b.channel == channel), None)
    return benefit.discount_percent if benefit else tier.discount_percent


def _coupon_offers(checkout: Checkout) -> list[CouponOffer]:
    checks = coupon_offers_check(
        checkout.coupon_codes,
        member=checkout.member,
        store=checkout.store,
        channel=coupon_channel(checkout.channel),
        now=timezone.now(),
    )
    return [
        CouponOffer(
            code=check.code,
            label=check.coupon.template.name if check.coupon else check.code,
            stackable=check.coupon.template.stackable if check.coupon else False,
            terms=coupon_terms(check.coupon.template)
            if check.coupon and not check.refused
            else None,
            refused=check.refused,
            refused_code=check.refused_code,
        )
        for check in checks
    ]


def coupon_channel(channel: str) -> str:
    """The coupon channel an order channel counts as (CouponTemplate.CHANNELS)."""
    return "store" if channel in ("pos", "store_pay") else channel


def _points_offer(member: Member | None, wanted: int) -> PointsOffer | None:
    if member is None or wanted <= 0:
        return None
    points_window_check(PointsWindow.Use.DEDUCTION)
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


_COUNTER_SQL = (
    f"INSERT INTO {table(OrderCounter)} ({column(OrderCounter, 'store')}, "
    f"{column(OrderCounter, 'day')}, {column(OrderCounter, 'last')}) VALUES (%s, %s, 1) "
    f"ON CONFLICT ({column(OrderCounter, 'store')}, {column(OrderCounter, 'day')}) "
    f"DO UPDATE SET {column(OrderCounter, 'last')} = {table(OrderCounter)}."
    f"{column(OrderCounter, 'last')} + 1 RETURNING {column(OrderCounter, 'last')}"
)


def _next_order_no(store: Store, now) -> str:
    """S001-20261125-0042: the store's next number of the day, in one statement (the row is
    made on the day's first order; SQLite and PostgreSQL both have upsert … RETURNING).

    On PostgreSQL the number is taken on a connection of its own and committed at once
    (ORDER_NUMBERS_APART, config/settings): otherwise the sale would hold the counter row
    until its commit, and every other sale at the store would wait through its last
    statements and its commit's flush to disk. In a flash drop that flush is slow: one
    store's tills, 30 ms at p99 alone, took 283–1,173 ms during the drop with the counter
    held, 84–237 ms without (bench.mixed_load). A sale that then fails leaves a gap in the
    day's numbers, never a number twice."""
    day = timezone.localdate(now)
    if settings.ORDER_NUMBERS_APART:
        counter = committed_without_waiting("numbering")  # the sale's commit flushes it
    else:
        counter = connections[database_for_write(OrderCounter)].cursor()
    with counter as cursor:
        cursor.execute(_COUNTER_SQL, [store.pk, day])
        (last,) = cursor.fetchone()
    return f"{store.code}-{day:%Y%m%d}-{last:04d}"


# It joins the caller's transaction without a savepoint, which a sale's locks would wait on:
# the POS gives up its whole request on any error; a caller that carries on after one (an
# import, the counter) opens a savepoint around it.
@transaction.atomic(savepoint=False)
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
    order, priced, _lines = _order_create(checkout, external_id=external_id, now=now)
    if discounts := _coupon_discounts(order):  # never held: checked and used in one step
        coupons_use_at_once(
            member=order.member,
            order_id=order.pk,
            store=order.store,
            channel=coupon_channel(order.channel),
            discounts=discounts,
            now=now,
        )
    order.order_no = _next_order_no(order.store, now)
    _earn(
        order,
        now=now,
        tier=priced.tier,  # the quote's: not the one the order's own growth may lift them to
        lines=_points_lines(priced),
        points_quote=priced.points,
        placed_now=True,
    )
    order = _record_paid(order, amount=order.payable, transaction_id=payment_ref, now=now)
    _take_points(order)  # last (the module's docstring)
    return order


@transaction.atomic
def order_place(*, checkout: Checkout, external_id: str = "", now=None) -> Order:
    """A mini-program or online order awaiting payment: its coupons are held and its points
    taken, an online order's stock reserved and its fulfilment opened (all come back if it
    is cancelled or not paid within ORDER_PAY_MINUTES). An `external_id` (an import's, the
    demo's) is the store's once, as a till's is: placed again, DuplicateOrder and nothing
    written."""
    now = now or timezone.now()
    order, priced, lines = _order_create(checkout, external_id=external_id, now=now)
    if priced.quote.coupons_used:
        coupons_lock(
            codes=list(priced.quote.coupons_used),
            member=checkout.member,
            order_id=order.pk,
            store=checkout.store,
            channel=coupon_channel(checkout.channel),
            now=now,
        )
    order.order_no = _next_order_no(order.store, now)
    _take_points(order)
    order.expires_at = now + timedelta(minutes=settings.ORDER_PAY_MINUTES)
    row_update(order, "order_no", "expires_at")
    fulfilment = None
    if checkout.fulfilment:
        fulfilment = fulfilment_open(order, checkout.fulfilment, checkout.recipient)
        stock_reserve(  # last: the stock rows are held for the fewest statements
            order_id=order.pk,
            store=stock_location(order.store, checkout.fulfilment),
            items=[(line.sku, line.quantity) for line in checkout.lines],
        )
    order._state.fields_cache["fulfilment"] = fulfilment  # as select_related sets it
    return _as_written(order, lines=lines)


def _as_written(order: Order, *, lines: list[OrderLine]) -> Order:
    """The order placed or paid just now with what `member_order` reads for its answer (its
    lines, no refund requests yet: an order awaiting payment has none) set from the rows in
    hand, as a prefetch sets them: the answer, made in the transaction that wrote them,
    reads nothing more while the order's rows are locked. The caller sets its fulfilment:
    the one it opened, or read with the order."""
    order._prefetched_objects_cache = {}
    for name, rows in (("lines", lines), ("refund_requests", [])):
        written = getattr(order, name).get_queryset()
        written._result_cache, written._prefetch_done = rows, True
        order._prefetched_objects_cache[name] = written
    return order


def _order_create(
    checkout: Checkout, *, external_id: str, now
) -> tuple[Order, Priced, list[OrderLine]]:
    """The order and its lines, priced, with no number yet: the caller numbers it once its
    coupons are held or used, before its points and growth are written."""
    priced = order_quote(checkout)
    quote = priced.quote
    promoter, second_promoter = promoters_for(checkout.member, now)
    order = Order(
        order_no=None,
        channel=checkout.channel,
        store=checkout.store,
        member=checkout.member,
        guide=guide_for(checkout.store, checkout.guide),
        promoter_id=promoter,
        second_promoter_id=second_promoter,
        external_id=external_id,
        subtotal=quote.subtotal,
        member_discount=quote.member_discount,
        coupon_discount=quote.coupon_discount,
        points_deduction=quote.points_deduction,
        shipping_fee=priced.shipping_fee,
        payable=priced.payable,
        points_used=quote.points_used,
        quote=_json_ready(priced.as_dict()),
        created_at=now,
    )
    # only the store's external id can be taken
    if not row_insert(order, unless_taken="order_external_id_once_per_store"):
        raise DuplicateOrder(external_id=external_id)
    rows = [
        {
            "order_id": order.pk,
            "line_no": number,
            "sku": line.sku,
            "name": line.name,
            "category": line.category,
            "quantity": line.quantity,
            "unit_price": line.unit_price,
            "list_amount": line.list_amount,
            "member_discount": line.member_discount,
            "coupon_discount": line.coupon_discount,
            "points_deduction": line.points_deduction,
            "paid": line.paid,
        }
        for number, line in enumerate(quote.lines, start=1)
    ]
    made = dict(rows_insert(OrderLine, rows, returning=("line_no", "pk")))
    lines = [OrderLine(pk=made[row["line_no"]], **row) for row in rows]
    for line in lines:  # in the database, as bulk_create leaves them
        line._state.adding, line._state.db = False, order._state.db
    return order, priced, lines


def _take_points(order: Order) -> None:
    if order.points_used:
        points_redeem(
            member=order.member,
            amount=order.points_used,
            cause_kind=Entry.CauseKind.ORDER,
            cause_id=order.pk,
            description=f"订单 {order.order_no} 积分抵现",
            store=order.store,
            savepoint=False,  # placing or paying an order gives it all up on any error
        )


def order_settle(order: Order, *, amount: Decimal, transaction_id: str, now) -> Order:
    """An order placed earlier (priced, numbered, its coupons held and points taken) is paid,
    in the caller's transaction: its coupons used, then what a sale paid at once earns. It
    earns at the tier the member holds now."""
    if discounts := _coupon_discounts(order):
        coupons_use(order_id=order.pk, store=order.store, discounts=discounts, now=now)
    lines = list(order.lines.all())
    _earn(
        order,
        now=now,
        tier=member_tier(order.member) if order.member_id else None,
        lines=[PointsLine(sku=line.sku, category=line.category, paid=line.paid) for line in lines],
        points_quote=None,
    )
    order = _record_paid(order, amount=amount, transaction_id=transaction_id, now=now)
    return _as_written(order, lines=lines)


def _earn(
    order: Order,
    *,
    now,
    tier: Tier | None,
    lines: list[PointsLine],
    points_quote: PointsQuote | None,
    placed_now: bool = False,
) -> None:
    """What every paid order earns once its coupons are used and it has its number:
    `order_paid`, growth value, points (pending for the return window); its paid state is
    set for `_record_paid`. These lock
    the member's tier state, then the ledger's shared accounts: they come last, after the
    store's order counter, so the rows every order shares are held for the fewest
    statements. `placed_now`: the order was written in this transaction."""
    first_purchase = bool(order.member_id) and not _bought_before(order)
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
    growth = _growth(order.payable - order.shipping_fee) if order.member_id else 0
    if growth > 0:
        growth_earn(
            member=order.member,
            amount=growth,
            kind=GrowthEntry.Kind.ORDER,
            cause_kind=GrowthEntry.CauseKind.ORDER,
            cause_id=order.pk,
            description=f"订单 {order.order_no} 消费成长值",
            now=now,
        )
    points_earned = 0
    if order.member_id:
        entry, _quote = points_award_order(
            member=order.member,
            store=order.store,
            lines=lines,
            order_id=order.pk,
            description=f"订单 {order.order_no} 消费得积分",
            when=now,
            tier=tier,
            quote=points_quote,
            placed_now=placed_now,
        )
        points_earned = entry.amount if entry else 0
    order.status, order.paid_amount, order.paid_at = Order.Status.PAID, order.payable, now
    order.points_earned, order.growth_earned, order.expires_at = points_earned, growth, None


_BOUGHT_BEFORE_SQL = (
    f"SELECT EXISTS (SELECT 1 FROM {table(Order)} WHERE {column(Order, 'member')} = %s "
    f"AND {column(Order, 'paid_at')} IS NOT NULL AND {column(Order, 'pk')} <> %s "
    f"AND {column(Order, 'status')} <> %s)"
)


def _bought_before(order: Order) -> bool:
    """Whether the order's member paid for another order before, not refunded in full (a
    purchase refunded in full was not one): by hand, as every sale to a member asks."""
    with connections[database_for_write(Order)].cursor() as cursor:
        cursor.execute(_BOUGHT_BEFORE_SQL, [order.member_id, order.pk, Order.Status.REFUNDED])
        return bool(cursor.fetchone()[0])


def _record_paid(order: Order, *, amount: Decimal, transaction_id: str, now) -> Order:
    """The payment and the order's paid state (a sale paid at once spends its points after
    them). `transaction_id` defaults to one made from the order number."""
    row_insert(
        Payment(
            order=order,
            amount=amount,
            method=order.channel,
            transaction_id=transaction_id or f"{order.channel}:{order.store_id}:{order.order_no}",
            created_at=now,
        )
    )
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


def _coupon_discounts(order: Order) -> dict[str, tuple[Decimal, Decimal]]:
    """What each coupon took off, as the quote stored with the order said, with the order's
    subtotal that its threshold was met by."""
    return {
        item["coupon_code"]: (Decimal(item["amount"]), order.subtotal)
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

"""订单: a sale in any channel, its lines with every discount allocated, and its refunds."""

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.core.models import TimeStampedModel
from apps.core.phones import mask_phone
from apps.members.models import Member
from apps.stores.models import Staff, Store


def _equal_to_the_fen(field: str, expression) -> Q:
    """field = expression, written as "within half a fen" because SQLite (the embedded
    default) does decimal arithmetic in floating point; on PostgreSQL it is exact equality,
    as amounts have two places."""
    half_fen = Decimal("0.005")
    return Q(**{f"{field}__gte": expression - half_fen, f"{field}__lte": expression + half_fen})


def _money(verbose_name, **kwargs):
    return models.DecimalField(verbose_name, max_digits=12, decimal_places=2, **kwargs)


# Channel groups a store's dashboard shows apart. Online orders are paid to HQ's merchant
# account, which owes each franchise store its share of those in its mall (OnlineShare).
TILL_CHANNELS = ("pos",)
ONLINE_CHANNELS = ("mall", "store_pay", "miniprogram")


class Order(models.Model):
    class Status(models.TextChoices):
        CREATED = "created", _("awaiting payment")
        PAID = "paid", _("paid")
        COMPLETED = "completed", _("completed")
        CANCELLED = "cancelled", _("cancelled")
        PARTIALLY_REFUNDED = "partially_refunded", _("partly refunded")
        REFUNDED = "refunded", _("refunded")

    class PaymentChannel(models.TextChoices):
        """Where the member pays: a prepay belongs to one app id and openid, so the first
        prepay fixes it (apps.orders.paying.order_payment_start)."""

        MINIPROGRAM = "miniprogram", _("mini-program")
        WECHAT_BROWSER = "wechat_browser", _("WeChat browser")

    # None only inside the transaction that places the order, until it takes its number
    # (apps.orders.checkout): a number is written once and never changed.
    order_no = models.CharField(_("order number"), max_length=40, unique=True, null=True)
    channel = models.CharField(
        _("channel"),
        max_length=32,
        help_text=_("pos, miniprogram, mall, store_pay or platform:<name>"),
    )
    store = models.ForeignKey(
        Store, verbose_name=_("store"), on_delete=models.PROTECT, related_name="orders"
    )
    member = models.ForeignKey(
        Member,
        verbose_name=_("member"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="orders",
    )
    guide = models.ForeignKey(
        Staff,
        verbose_name=_("guide"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    # The promoter the member was bound to when the order was placed, and theirs (the
    # second level): what it credits (apps.members.attribution), never rewritten after.
    promoter = models.ForeignKey(
        Member,
        verbose_name=_("promoter"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    second_promoter = models.ForeignKey(
        Member,
        verbose_name=_("second-level promoter"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    external_id = models.CharField(_("external id"), max_length=64, blank=True)
    status = models.CharField(_("status"), max_length=20, choices=Status, default=Status.CREATED)
    subtotal = _money(_("subtotal"))
    member_discount = _money(_("member discount"), default=0)
    coupon_discount = _money(_("coupon discount"), default=0)
    points_deduction = _money(_("paid with points"), default=0)
    shipping_fee = _money(_("shipping fee"), default=0, db_default=0)
    payable = _money(_("payable"))
    points_used = models.PositiveIntegerField(_("points used"), default=0)
    points_earned = models.PositiveIntegerField(_("points earned"), default=0)
    growth_earned = models.PositiveIntegerField(_("growth value earned"), default=0)
    paid_amount = _money(_("paid"), default=0)
    refunded_amount = _money(_("refunded"), default=0)
    quote = models.JSONField(_("quote"), default=dict, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, db_index=True)
    paid_at = models.DateTimeField(_("paid at"), null=True, blank=True)
    expires_at = models.DateTimeField(_("unpaid until"), null=True, blank=True)
    # The gateway's reference for the order, asked once (apps.orders.paying.order_payment_start)
    prepay_id = models.CharField(
        _("gateway prepay id"), max_length=64, blank=True, default="", db_default=""
    )
    payment_channel = models.CharField(
        _("payment channel"),
        max_length=20,
        choices=PaymentChannel,
        default=PaymentChannel.MINIPROGRAM,
        db_default=PaymentChannel.MINIPROGRAM,
    )

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["member", "-created_at"], name="order_member_recent"),
            models.Index(fields=["store", "-created_at"], name="order_store_recent"),
            # the store dashboard's sales by channel, and HQ's online settlement
            models.Index(fields=["store", "paid_at"], name="order_store_paid"),
            models.Index(
                fields=["paid_at"],
                condition=Q(channel__in=ONLINE_CHANNELS),
                name="order_online_paid",
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["store", "external_id"],
                condition=~Q(external_id=""),
                name="order_external_id_once_per_store",
            ),
            models.CheckConstraint(condition=Q(payable__gte=0), name="order_payable_not_negative"),
            models.CheckConstraint(
                condition=Q(shipping_fee__gte=0), name="order_shipping_fee_not_negative"
            ),
            models.CheckConstraint(
                condition=_equal_to_the_fen(
                    "payable",
                    F("subtotal")
                    + F("shipping_fee")
                    - F("member_discount")
                    - F("coupon_discount")
                    - F("points_deduction"),
                ),
                name="order_payable_is_subtotal_less_discounts",
            ),
            models.CheckConstraint(
                condition=Q(refunded_amount__lte=F("paid_amount")),
                name="order_refunds_within_paid",
            ),
        ]

    def __str__(self) -> str:
        return self.order_no or ""


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    line_no = models.PositiveSmallIntegerField()
    sku = models.CharField(_("SKU"), max_length=64)
    name = models.CharField(_("name"), max_length=100)
    category = models.CharField(_("category"), max_length=50, blank=True)
    quantity = models.PositiveIntegerField(_("quantity"))
    unit_price = _money(_("unit price"))
    list_amount = _money(_("amount"))
    member_discount = _money(_("member discount"), default=0)
    coupon_discount = _money(_("coupon discount"), default=0)
    points_deduction = _money(_("paid with points"), default=0)
    paid = _money(_("paid"))
    refunded_quantity = models.PositiveIntegerField(_("refunded quantity"), default=0)
    refunded_amount = _money(_("refunded"), default=0)

    class Meta:
        verbose_name = _("order line")
        verbose_name_plural = _("order lines")
        ordering = ["order", "line_no"]
        constraints = [
            models.UniqueConstraint(fields=["order", "line_no"], name="order_line_once"),
            models.CheckConstraint(
                condition=_equal_to_the_fen(
                    "paid",
                    F("list_amount")
                    - F("member_discount")
                    - F("coupon_discount")
                    - F("points_deduction"),
                ),
                name="order_line_paid_is_amount_less_discounts",
            ),
            models.CheckConstraint(condition=Q(paid__gte=0), name="order_line_paid_not_negative"),
            models.CheckConstraint(
                condition=Q(refunded_amount__lte=F("paid"))
                & Q(refunded_quantity__lte=F("quantity")),
                name="order_line_refunds_within_line",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.order_id}#{self.line_no} {self.sku} × {self.quantity}"


class Refund(models.Model):
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="refunds")
    refund_id = models.CharField(_("refund id"), max_length=64)
    refund_no = models.CharField(_("refund number"), max_length=48, unique=True)
    amount = _money(_("refunded"))
    points_reversed = models.PositiveIntegerField(_("earned points taken back"), default=0)
    points_returned = models.PositiveIntegerField(_("used points given back"), default=0)
    shortfall_points = models.PositiveIntegerField(_("earned points already spent"), default=0)
    shortfall_cash = _money(_("kept from the refund for spent points"), default=0)
    coupons_restored = models.PositiveSmallIntegerField(_("coupons given back"), default=0)
    created_at = models.DateTimeField(_("at"), default=timezone.now)

    class Meta:
        verbose_name = _("refund")
        verbose_name_plural = _("refunds")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["created_at"], name="refund_created")]  # settlements
        constraints = [
            models.UniqueConstraint(fields=["order", "refund_id"], name="refund_once_per_id"),
            models.CheckConstraint(condition=Q(amount__gte=0), name="refund_not_negative"),
        ]

    def __str__(self) -> str:
        return self.refund_no

    @property
    def cash_refunded(self):
        return self.amount - self.shortfall_cash


class Fulfilment(models.Model):
    """How an online order reaches its member: picked up at its store with a pickup code
    (once), or delivered to an address by the store or HQ with a carrier's tracking number,
    then received by the member or on its own after ORDER_RECEIVE_DAYS."""

    class Kind(models.TextChoices):
        PICKUP = "pickup", _("pickup at the store")
        DELIVERY = "delivery", _("delivery")

    class Status(models.TextChoices):
        WAITING = "waiting", _("awaiting payment")
        TO_HAND_OVER = "to_hand_over", _("to pick up or ship")
        SHIPPED = "shipped", _("shipped")
        DONE = "done", _("picked up or received")
        CANCELLED = "cancelled", _("cancelled")

    order = models.OneToOneField(
        Order, on_delete=models.CASCADE, primary_key=True, related_name="fulfilment"
    )
    kind = models.CharField(_("fulfilment"), max_length=16, choices=Kind)
    status = models.CharField(_("status"), max_length=16, choices=Status, default=Status.WAITING)
    # A short code the member shows at the counter; only pickups have one.
    pickup_code = models.CharField(_("pickup code"), max_length=12, unique=True, null=True)
    ship_from = models.ForeignKey(
        Store,
        verbose_name=_("ships from (none: HQ warehouse)"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    recipient = models.CharField(_("recipient"), max_length=50, blank=True)
    recipient_phone = models.CharField(_("recipient phone"), max_length=20, blank=True)
    region = models.CharField(_("region"), max_length=100, blank=True)
    address = models.CharField(_("address"), max_length=200, blank=True)
    carrier = models.CharField(_("carrier"), max_length=50, blank=True)
    tracking_no = models.CharField(_("tracking number"), max_length=64, blank=True)
    shipped_at = models.DateTimeField(_("shipped at"), null=True, blank=True)
    done_at = models.DateTimeField(_("picked up or received at"), null=True, blank=True)
    done_by = models.ForeignKey(
        "core.User",
        verbose_name=_("handed over by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        verbose_name = _("fulfilment")
        verbose_name_plural = _("fulfilments")
        indexes = [
            # the parcels on their way, for the job that receives them after a while
            models.Index(
                fields=["shipped_at"],
                condition=Q(status="shipped"),
                name="fulfilment_on_the_way",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind="pickup", pickup_code__isnull=False)
                | Q(kind="delivery", pickup_code__isnull=True),
                name="fulfilment_pickup_has_code",
            ),
            models.CheckConstraint(
                condition=~Q(kind="delivery") | ~Q(address=""),
                name="fulfilment_delivery_has_address",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.order_id} {self.kind} {self.status}"

    @property
    def recipient_phone_masked(self) -> str:
        return mask_phone(self.recipient_phone)


class ShippingRule(models.Model):
    """运费: what delivery to a region costs, set by HQ. The rule with the longest region
    prefix that the address's region starts with wins ("浙江省/杭州市" over "浙江省" over
    blank, everywhere); an order whose goods come to `free_from` or more ships free."""

    region = models.CharField(
        _("region"),
        max_length=100,
        blank=True,
        help_text=_(
            "A region or the start of one, as addresses write it: 浙江省 or 浙江省/杭州市. "
            "Blank: everywhere else."
        ),
    )
    fee = _money(_("shipping fee"))
    free_from = _money(
        _("free from (yuan)"),
        null=True,
        blank=True,
        help_text=_("Goods worth this much or more ship free. Blank: never free."),
    )

    class Meta:
        verbose_name = _("shipping rule")
        verbose_name_plural = _("shipping rules")
        ordering = ["region"]
        constraints = [
            models.UniqueConstraint(fields=["region"], name="shipping_rule_once_per_region"),
            models.CheckConstraint(condition=Q(fee__gte=0), name="shipping_rule_fee_not_negative"),
            models.CheckConstraint(
                condition=Q(free_from__isnull=True) | Q(free_from__gte=0),
                name="shipping_rule_free_from_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.region or '*'}: {self.fee}"


class RefundLine(models.Model):
    refund = models.ForeignKey(Refund, on_delete=models.CASCADE, related_name="lines")
    line = models.ForeignKey(OrderLine, on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField(_("quantity"), default=0)
    amount = _money(_("amount"))

    def __str__(self) -> str:
        return f"{self.refund_id}: {self.line_id} {self.amount}"


class Payment(models.Model):
    """Money received for an order: reported by the POS, or confirmed by a payment gateway."""

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="payments")
    amount = _money(_("amount"))
    method = models.CharField(_("method"), max_length=32)
    transaction_id = models.CharField(_("transaction id"), max_length=64, unique=True)
    created_at = models.DateTimeField(_("at"), default=timezone.now)

    class Meta:
        verbose_name = _("payment")
        verbose_name_plural = _("payments")

    def __str__(self) -> str:
        return f"{self.order_id} {self.amount} {self.method}"


class OrderCounter(models.Model):
    """The last order number a store gave on a day: S001-20261125-0042."""

    # No foreign key in the database: the counter's own connection (checkout._next_order_no)
    # must not wait on a store row that the sale's transaction made (seed_demo) or locked.
    store = models.ForeignKey(
        Store, on_delete=models.CASCADE, related_name="+", db_constraint=False
    )
    day = models.DateField()
    last = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["store", "day"], name="order_counter_once")]

    def __str__(self) -> str:
        return f"{self.store_id} {self.day}: {self.last}"


class OrderImport(TimeStampedModel):
    """An export of a platform's orders (Youzan, Meituan, Tmall, JD…): checked, then imported
    order by order; a rerun goes on after the last order done."""

    PLATFORMS = [
        ("youzan", "有赞"),
        ("meituan", "美团"),
        ("eleme", "饿了么"),
        ("tmall", "天猫"),
        ("jd", "京东"),
    ]

    class Status(models.TextChoices):
        CHECKING = "checking", _("checking…")
        INVALID = "invalid", _("cannot be imported")
        CHECKED = "checked", _("checked, not imported yet")
        RUNNING = "running", _("importing")
        DONE = "done", _("imported")
        FAILED = "failed", _("failed")

    file_name = models.CharField(_("file"), max_length=200)
    content = models.BinaryField(editable=False)
    platform = models.CharField(_("platform"), max_length=20, choices=PLATFORMS)
    store = models.ForeignKey(
        Store,
        verbose_name=_("store the sales belong to"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    status = models.CharField(_("status"), max_length=16, choices=Status, default=Status.CHECKED)
    total_orders = models.PositiveIntegerField(_("orders"), default=0)
    preview = models.JSONField(_("dry run"), default=dict, blank=True)
    done = models.PositiveIntegerField(default=0, editable=False)  # orders handled, in file order
    counts = models.JSONField(default=dict, blank=True, editable=False)
    report = models.TextField(blank=True, editable=False)
    created_by = models.ForeignKey(
        "core.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True)
    # The uploaded file is deleted after IMPORT_FILE_RETENTION_DAYS; the report stays.
    file_deleted_at = models.DateTimeField(_("file deleted at"), null=True, blank=True)

    class Meta:
        verbose_name = _("platform order import")
        verbose_name_plural = _("platform order imports")
        ordering = ["-id"]

    def __str__(self) -> str:
        return self.file_name


class LatePayment(models.Model):
    """Money a gateway took that no order keeps: paid for an order that had already been
    cancelled (its time to pay ran out, or the member gave it up), or another amount than
    the order's payable (the order is then cancelled). Never kept, it is refunded through
    the gateway; a refund stays `refunding` until the gateway says it is done. Finance sees
    each one, whether the gateway has given it back, and why not."""

    class Reason(models.TextChoices):
        CANCELLED = "cancelled", _("paid after the order was cancelled")
        AMOUNT_MISMATCH = "amount_mismatch", _("paid another amount than the order's")

    class Status(models.TextChoices):
        REFUNDING = "refunding", _("being refunded")
        REFUNDED = "refunded", _("refunded")
        # the gateway could not pay it back (ABNORMAL) or gave up (CLOSED): finance acts
        ABNORMAL = "abnormal", _("refund failed: the payer's account cannot take it")
        CLOSED = "closed", _("refund closed by the gateway")

    order = models.ForeignKey(
        Order, verbose_name=_("order"), on_delete=models.PROTECT, related_name="late_payments"
    )
    transaction_id = models.CharField(_("transaction id"), max_length=64, unique=True)
    amount = _money(_("amount"))
    reason = models.CharField(_("reason"), max_length=16, choices=Reason, default=Reason.CANCELLED)
    refund_no = models.CharField(_("refund number"), max_length=64, unique=True)
    status = models.CharField(_("status"), max_length=16, choices=Status, default=Status.REFUNDING)
    gateway_refund_id = models.CharField(_("gateway refund id"), max_length=64, blank=True)
    attempts = models.PositiveSmallIntegerField(_("refund attempts"), default=0)
    last_error = models.CharField(_("last error"), max_length=200, blank=True)
    received_at = models.DateTimeField(_("paid at"), default=timezone.now)
    refunded_at = models.DateTimeField(_("refunded at"), null=True, blank=True)

    class Meta:
        verbose_name = _("payment after cancellation")
        verbose_name_plural = _("payments after cancellation")
        ordering = ["-received_at"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="late_payment_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.order_id} {self.amount} {self.transaction_id}"


class OnlineShare(TimeStampedModel):
    """线上分成: the percentage of the online sales in a franchise store's mall that HQ,
    which takes the payments, owes the store. A rule names a store, a category, both or
    neither (the default); the most specific rule wins: store and category, then store,
    then category, then the default (apps.orders.settlement.share_percent).

    A rule holds for orders paid from its first day until a later rule of the same store
    and category starts; rules are never edited, so a statement once drawn never changes."""

    store = models.ForeignKey(
        Store,
        verbose_name=_("store"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        limit_choices_to={"kind": Store.Kind.FRANCHISE},
        help_text=_("Empty: every franchise store."),
    )
    category = models.CharField(
        _("category"),
        max_length=50,
        blank=True,
        help_text=_("Empty: every category. Otherwise the category as order lines carry it."),
    )
    percent = models.DecimalField(
        _("share (%)"),
        max_digits=5,
        decimal_places=2,
        validators=[MinValueValidator(Decimal(0)), MaxValueValidator(Decimal(100))],
    )
    valid_from = models.DateField(
        _("valid from"),
        default=timezone.localdate,
        help_text=_(
            "For online orders paid on or after this day, today at the earliest. To change a "
            "share, add a new one from a later day: statements already drawn never change."
        ),
    )

    class Meta:
        verbose_name = _("online sales share")
        verbose_name_plural = _("online sales shares")
        ordering = ["store__code", "category", "-valid_from"]
        constraints = [
            models.UniqueConstraint(
                fields=["store", "category", "valid_from"],
                condition=Q(store__isnull=False),
                name="online_share_once_per_store_category_day",
                violation_error_message=_(
                    "This store already has a share for this category from this day."
                ),
            ),
            models.UniqueConstraint(
                fields=["category", "valid_from"],
                condition=Q(store__isnull=True),
                name="online_share_once_per_category_day",
                violation_error_message=_(
                    "Every store already has a share for this category from this day."
                ),
            ),
            models.CheckConstraint(
                condition=Q(percent__gte=0, percent__lte=100), name="online_share_percent_range"
            ),
        ]

    def __str__(self) -> str:
        store = self.store.code if self.store_id else _("every store")
        category = self.category or _("every category")
        return f"{store} · {category}: {self.percent}% ({self.valid_from}–)"

    def clean(self):
        if self.store_id and self.store.kind != Store.Kind.FRANCHISE:
            raise ValidationError(
                {"store": _("Only a franchise store is paid a share: a direct store is HQ's own.")}
            )
        if self._state.adding and self.valid_from and self.valid_from < timezone.localdate():
            raise ValidationError(
                {
                    "valid_from": _(
                        "A share starts today at the earliest: a statement already drawn "
                        "never changes."
                    )
                }
            )


class Cart(models.Model):
    """购物车: what a member means to buy from one store's mall, kept on the server so every
    device they sign in on shows it. Prices are never kept: the catalogue prices it when shown."""

    member = models.OneToOneField(
        Member, verbose_name=_("member"), on_delete=models.CASCADE, related_name="cart"
    )
    store = models.ForeignKey(
        Store, verbose_name=_("store"), on_delete=models.CASCADE, related_name="+"
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("cart")
        verbose_name_plural = _("carts")

    def __str__(self) -> str:
        return f"{self.member_id}@{self.store_id}"


class CartLine(models.Model):
    cart = models.ForeignKey(Cart, on_delete=models.CASCADE, related_name="lines")
    sku = models.ForeignKey(
        "mall.Sku", verbose_name=_("SKU"), on_delete=models.CASCADE, related_name="+"
    )
    quantity = models.PositiveSmallIntegerField(_("quantity"))
    position = models.PositiveSmallIntegerField(_("position"))

    class Meta:
        verbose_name = _("cart line")
        verbose_name_plural = _("cart lines")
        ordering = ["position"]
        constraints = [
            models.UniqueConstraint(fields=["cart", "sku"], name="cart_line_once"),
            models.CheckConstraint(
                condition=Q(quantity__gte=1, quantity__lte=99), name="cart_line_quantity"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.cart_id} {self.sku_id} × {self.quantity}"


class RefundRequest(models.Model):
    """售后: a member asks for an online order's money back, by lines or by an amount, with a
    reason; the store's owner or manager, or HQ, approves or refuses with a note; an approved
    request is refunded through the payment gateway, and only once the gateway says so is the
    order's refund recorded (points, growth value, coupons and stock going back with it)."""

    # The channels whose orders a member paid through the gateway.
    CHANNELS = ("mall", "store_pay", "miniprogram")

    class Reason(models.TextChoices):
        NOT_AS_DESCRIBED = "not_as_described", _("not as described")
        DAMAGED = "damaged", _("damaged or faulty")
        WRONG_ITEM = "wrong_item", _("wrong item")
        NOT_RECEIVED = "not_received", _("not received")
        CHANGED_MIND = "changed_mind", _("changed my mind")
        OTHER = "other", _("other")

    class Status(models.TextChoices):
        REQUESTED = "requested", _("waiting for a decision")
        APPROVED = "approved", _("approved, being refunded")
        REFUNDED = "refunded", _("refunded")
        REFUSED = "refused", _("refused")
        FAILED = "failed", _("refund failed at the gateway")
        CANCELLED = "cancelled", _("withdrawn by the member")

    OPEN = (Status.REQUESTED, Status.APPROVED)

    order = models.ForeignKey(
        Order, verbose_name=_("order"), on_delete=models.PROTECT, related_name="refund_requests"
    )
    # [{sku, quantity}] asked for, or empty for a refund of `amount`
    lines = models.JSONField(_("lines"), default=list, blank=True)
    amount = _money(_("amount"))
    # What the gateway gives back: `amount` less what is kept for earned points the member
    # already spent (apps.orders.refunds), fixed when the request is approved.
    cash = _money(_("refunded to the payer"), null=True, blank=True)
    reason = models.CharField(_("reason"), max_length=20, choices=Reason)
    reason_text = models.CharField(_("in the member's words"), max_length=200, blank=True)
    status = models.CharField(_("status"), max_length=12, choices=Status, default=Status.REQUESTED)
    note = models.CharField(_("note"), max_length=200, blank=True)
    decided_by = models.ForeignKey(
        "core.User",
        verbose_name=_("decided by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    # The gateway's refund number, given at approval: the same number asked again is the
    # same refund, never a second.
    refund_no = models.CharField(_("refund number"), max_length=64, unique=True, null=True)
    gateway_refund_id = models.CharField(_("gateway refund id"), max_length=64, blank=True)
    attempts = models.PositiveSmallIntegerField(_("refund attempts"), default=0)
    last_error = models.CharField(_("last error"), max_length=200, blank=True)
    refund = models.OneToOneField(
        Refund,
        verbose_name=_("refund"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="request",
    )
    created_at = models.DateTimeField(_("asked at"), default=timezone.now, db_index=True)
    refunded_at = models.DateTimeField(_("refunded at"), null=True, blank=True)

    class Meta:
        verbose_name = _("refund request")
        verbose_name_plural = _("refund requests")
        ordering = ["-created_at", "-id"]
        permissions = [("decide_refundrequest", "Can approve or refuse refund requests")]
        constraints = [
            models.UniqueConstraint(
                fields=["order"],
                condition=Q(status__in=["requested", "approved"]),
                name="refund_request_one_open_per_order",
            ),
            models.CheckConstraint(condition=Q(amount__gte=0), name="refund_request_not_negative"),
            models.CheckConstraint(
                condition=~Q(status="refunded") | Q(refund__isnull=False),
                name="refund_request_refunded_has_refund",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.order} #{self.pk}"

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN

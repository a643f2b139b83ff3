"""A member's orders: quote, place, pay, cancel, refund requests, the gateway's notices, the
sandbox."""

from contextlib import nullcontext
from dataclasses import replace
from decimal import Decimal

from django.db import transaction
from django.http import HttpResponse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema, extend_schema_field, inline_serializer
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.api.pagination import PageNumberPagination, page_of
from apps.core.api.schema import errors
from apps.core.errors import NotFound
from apps.core.idempotency import idempotent
from apps.core.phones import normalize_phone
from apps.core.qr import qr_png
from apps.members.addresses import member_address, region_normal
from apps.members.models import Member
from apps.miniprogram.api.base import MemberApi
from apps.orders.after_sale import (
    refund_request_cancel,
    refund_request_create,
    refund_request_refund_noticed,
)
from apps.orders.api import QuoteOutputSerializer
from apps.orders.builder import ItemInput, basket_store, checkout_build
from apps.orders.checkout import Checkout, order_place, order_quote
from apps.orders.errors import AddressRequired, OrderNotPayable, PickupNotFound
from apps.orders.fulfilment import Recipient, delivery_receive
from apps.orders.models import Fulfilment, Order, RefundRequest
from apps.orders.paying import (
    late_payment_refund_noticed,
    order_cancel,
    order_pay,
    order_payment_start,
)
from apps.orders.payments import (
    RefundResult,
    SandboxPaymentBackend,
    TransferNotice,
    payment_backend,
)
from apps.orders.refunds import RefundLineInput
from apps.orders.selectors import member_order, member_orders, member_refund_request
from apps.referrals.promoters import promoter_code_bind
from apps.referrals.withdrawals import withdrawal_transfer_noticed


class BasketLineSerializer(serializers.Serializer):
    sku = serializers.CharField(max_length=64)
    quantity = serializers.IntegerField(min_value=1, max_value=99)

    def to_internal_value(self, data):
        """A line is a SKU and a quantity: the catalogue prices it, so a line that brings a
        price (or anything else) is refused, never quietly repriced."""
        if isinstance(data, dict) and (extra := sorted(set(data) - set(self.fields))):
            refused = _("Prices come from the catalogue: send only sku and quantity.")
            raise serializers.ValidationError({name: [refused] for name in extra})
        return super().to_internal_value(data)


class BasketSerializer(serializers.Serializer):
    """What a member buys in the mini-program or a store's mall: products by SKU (the
    catalogue prices them), coupons, points, and the store the order is for (default: their
    home store)."""

    lines = serializers.ListField(child=BasketLineSerializer(), allow_empty=False, max_length=50)
    coupon_codes = serializers.ListField(
        child=serializers.CharField(max_length=20), required=False, max_length=10
    )
    points = serializers.IntegerField(min_value=0, required=False, default=0)
    store_code = serializers.CharField(max_length=16, required=False, allow_blank=True)


class RecipientSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=50)
    phone = serializers.CharField(max_length=32)
    region = serializers.CharField(max_length=100, help_text="浙江省/杭州市/西湖区")
    detail = serializers.CharField(max_length=200)


class FulfilmentSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=Fulfilment.Kind.choices)
    address = RecipientSerializer(required=False, help_text="For a delivery: where to.")
    address_id = serializers.IntegerField(
        required=False, help_text="For a delivery: one of the member's addresses instead."
    )


class OnlineOrderSerializer(BasketSerializer):
    """The online order body of API.md: a basket with its fulfilment makes a mall order."""

    fulfilment = FulfilmentSerializer(required=False)
    guide_code = serializers.CharField(max_length=20, required=False, allow_blank=True)
    promoter_code = serializers.CharField(
        max_length=20,
        required=False,
        allow_blank=True,
        help_text=(
            "The code of the promoter whose link the order came through: the member is "
            "bound to them by HQ's rule before the order records whom it credits. 400 for "
            "a code that is no approved promoter's."
        ),
    )


def _basket_checkout(member: Member, values: dict) -> Checkout:
    fulfilment = values.get("fulfilment")
    checkout = checkout_build(
        store=basket_store(member, values.get("store_code") or ""),
        channel="mall" if fulfilment else "miniprogram",
        member=member,
        items=[ItemInput(sku=item["sku"], quantity=item["quantity"]) for item in values["lines"]],
        coupon_codes=values.get("coupon_codes") or [],
        points=values.get("points") or 0,
        guide_code=values.get("guide_code") or member.guide,
    )
    if not fulfilment:
        return checkout
    return replace(
        checkout,
        fulfilment=fulfilment["type"],
        recipient=_recipient(member, fulfilment)
        if fulfilment["type"] == Fulfilment.Kind.DELIVERY
        else None,
    )


def _recipient(member: Member, fulfilment: dict) -> Recipient:
    """Where a delivery goes: the address sent, or one of the member's own by its id."""
    if "address_id" in fulfilment:
        address = member_address(member, fulfilment["address_id"])
        return Recipient(
            name=address.name, phone=address.phone, region=address.region, detail=address.detail
        )
    if (sent := fulfilment.get("address")) is None:
        raise AddressRequired()
    return Recipient(
        name=sent["name"],
        phone=normalize_phone(sent["phone"]),
        region=region_normal(sent["region"]),
        detail=sent["detail"],
    )


class OrderSummarySerializer(serializers.Serializer):
    order_no = serializers.CharField()
    created_at = serializers.DateTimeField()
    status = serializers.CharField()
    store = serializers.CharField(source="store.name")
    payable = serializers.DecimalField(max_digits=12, decimal_places=2)
    points_used = serializers.IntegerField()
    points_earned = serializers.IntegerField()
    expires_at = serializers.DateTimeField(allow_null=True)


class FulfilmentOutputSerializer(serializers.Serializer):
    """How an online order reaches its member. The pickup code is its member's alone (the
    counter hands the goods to whoever shows it), so it is only in the member's own order."""

    type = serializers.CharField(source="kind", help_text="pickup | delivery")
    status = serializers.CharField(
        help_text="waiting (to be paid) | to_hand_over | shipped | done | cancelled"
    )
    pickup_code = serializers.CharField(allow_null=True)
    carrier = serializers.CharField()
    tracking_no = serializers.CharField()
    shipped_at = serializers.DateTimeField(allow_null=True)
    done_at = serializers.DateTimeField(allow_null=True)
    address = serializers.SerializerMethodField()

    @extend_schema_field(
        inline_serializer(
            "FulfilmentAddress",
            {
                "name": serializers.CharField(),
                "phone": serializers.CharField(help_text="masked: 138****1234"),
                "region": serializers.CharField(),
                "detail": serializers.CharField(),
            },
            allow_null=True,
        )
    )
    def get_address(self, fulfilment) -> dict | None:
        if fulfilment.kind != Fulfilment.Kind.DELIVERY:
            return None
        return {
            "name": fulfilment.recipient,
            "phone": fulfilment.recipient_phone_masked,
            "region": fulfilment.region,
            "detail": fulfilment.address,
        }


class RefundRequestSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField()
    lines = inline_serializer(
        "RefundRequestLine",
        {"sku": serializers.CharField(), "quantity": serializers.IntegerField()},
        many=True,
    )
    amount = serializers.DecimalField(max_digits=12, decimal_places=2)
    reason = serializers.CharField()
    reason_text = serializers.CharField()
    note = serializers.CharField(help_text="The store's or HQ's word on its decision.")
    created_at = serializers.DateTimeField()
    decided_at = serializers.DateTimeField(allow_null=True)
    refunded_at = serializers.DateTimeField(allow_null=True)


class OrderDetailSerializer(OrderSummarySerializer):
    subtotal = serializers.DecimalField(max_digits=12, decimal_places=2)
    member_discount = serializers.DecimalField(max_digits=12, decimal_places=2)
    coupon_discount = serializers.DecimalField(max_digits=12, decimal_places=2)
    points_deduction = serializers.DecimalField(max_digits=12, decimal_places=2)
    refunded_amount = serializers.DecimalField(max_digits=12, decimal_places=2)
    lines = inline_serializer(
        "MemberOrderLine",
        {
            "sku": serializers.CharField(),
            "name": serializers.CharField(),
            "quantity": serializers.IntegerField(),
            "unit_price": serializers.DecimalField(max_digits=12, decimal_places=2),
            "paid": serializers.DecimalField(max_digits=12, decimal_places=2),
        },
        many=True,
    )
    fulfilment = serializers.SerializerMethodField(
        help_text="An online order's pickup or delivery; null for other orders."
    )

    @extend_schema_field(FulfilmentOutputSerializer(allow_null=True))
    def get_fulfilment(self, order) -> dict | None:
        fulfilment = getattr(order, "fulfilment", None)
        return FulfilmentOutputSerializer(fulfilment).data if fulfilment else None

    refund_requests = RefundRequestSerializer(many=True)


class MemberQuoteApi(MemberApi):
    @extend_schema(
        request=OnlineOrderSerializer,
        responses={200: QuoteOutputSerializer, **errors(400, 404, 409)},
        operation_id="quote",
    )
    def post(self, request):
        data = OnlineOrderSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        priced = order_quote(_basket_checkout(self.member, data.validated_data))
        return Response(QuoteOutputSerializer(priced.as_dict()).data)


class MemberOrdersApi(MemberApi):
    @extend_schema(responses=page_of(OrderSummarySerializer), operation_id="me_orders")
    def get(self, request):
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(member_orders(self.member), request, view=self)
        return paginator.get_paginated_response(OrderSummarySerializer(page, many=True).data)


class PaymentChannelSerializer(serializers.Serializer):
    channel = serializers.ChoiceField(
        choices=Order.PaymentChannel.choices,
        default=Order.PaymentChannel.MINIPROGRAM,
        help_text="Where the member pays: the order's first payment fixes it.",
    )


def _payment_channel(request) -> str:
    data = PaymentChannelSerializer(data=request.data)
    data.is_valid(raise_exception=True)
    return data.validated_data["channel"]


class OrderPlaceSerializer(OnlineOrderSerializer, PaymentChannelSerializer):
    pass


PAYABLE = serializers.DecimalField(max_digits=12, decimal_places=2)
PAY_UNTIL = serializers.DateTimeField()


class OrderPlaceApi(MemberApi):
    @extend_schema(
        request=OrderPlaceSerializer,
        responses={
            201: inline_serializer(
                "PlacedOrder",
                {
                    "order_no": serializers.CharField(),
                    "status": serializers.CharField(help_text="unpaid"),
                    "payable": serializers.DecimalField(max_digits=12, decimal_places=2),
                    "pay_until": serializers.DateTimeField(),
                    "order": OrderDetailSerializer(),
                    "payment": serializers.DictField(),
                },
            ),
            **errors(400, 404, 409, 503),
        },
        operation_id="order_place",
    )
    def post(self, request):
        """Place an order: coupons are held and points taken until it is paid, or given
        back when it is cancelled or ORDER_PAY_MINUTES pass. The order commits first, then
        the gateway is asked for its payment (never inside the transaction that numbers the
        order): if the gateway does not answer, the order stands and the same request again
        (same Idempotency-Key) or `orders/{order_no}/pay` asks again. With `fulfilment` it is
        an online order of the store's mall: its stock is reserved (409 `out_of_stock`) and
        a delivery pays the shipping fee."""
        channel = _payment_channel(request)
        placed = self._place(request)
        if placed.status_code != status.HTTP_201_CREATED:
            return placed
        payment = order_payment_start(order=placed_order(self.member, placed), channel=channel)
        placed.data = {**placed.data, "payment": payment}
        return placed

    post.idempotent = True  # through _place: the schema documents the header and 409

    @idempotent
    def _place(self, request):
        data = OnlineOrderSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        code = data.validated_data.get("promoter_code")
        # with a code, the binding stands only if the order is placed
        with transaction.atomic() if code else nullcontext():
            if code:
                promoter_code_bind(member=self.member, code=code)
            order = order_place(checkout=_basket_checkout(self.member, data.validated_data))
        return placed_answer(
            order,
            {
                "order_no": order.order_no,
                "status": "unpaid",
                "payable": PAYABLE.to_representation(order.payable),
                "pay_until": PAY_UNTIL.to_representation(order.expires_at),
                "order": OrderDetailSerializer(order).data,  # from the rows just written
            },
        )


def placed_answer(order: Order, data: dict) -> Response:
    """201 for an order just placed, carrying the order for `placed_order`."""
    answer = Response(data, status=status.HTTP_201_CREATED)
    answer.order = order
    return answer


def placed_order(member: Member, placed: Response) -> Order:
    """The order a placement answered 201 for, to ask the gateway for its payment: the one
    in hand, or, for an answer replayed under its Idempotency-Key, read again."""
    order = getattr(placed, "order", None)
    return order or member_order(member, placed.data["order_no"], detail=False)


class OrderPayApi(MemberApi):
    @extend_schema(
        request=PaymentChannelSerializer,
        responses={
            200: inline_serializer(
                "OrderPayment",
                {"gateway": serializers.CharField(), "params": serializers.DictField()},
            ),
            **errors(400, 404, 409, 503),
        },
        operation_id="order_pay",
    )
    def post(self, request, order_no):
        """What the client pays an unpaid order with (wx.requestPayment's params, or
        WeixinJSBridge's in WeChat's browser): the same prepay each time, asked of the
        gateway once. The first prepay fixes where the order is paid: another channel
        answers 409 `not_payable`."""
        payment = order_payment_start(
            order=member_order(self.member, order_no, detail=False),
            channel=_payment_channel(request),
        )
        gateway = payment.pop("backend")
        return Response({"gateway": gateway, "params": payment})


class MemberOrderApi(MemberApi):
    @extend_schema(responses=OrderDetailSerializer, operation_id="me_order")
    def get(self, request, order_no):
        return Response(OrderDetailSerializer(member_order(self.member, order_no)).data)


class MemberOrderReceiveApi(MemberApi):
    @extend_schema(
        request=None,
        responses={200: OrderDetailSerializer, **errors(404, 409)},
        operation_id="order_receive",
    )
    @idempotent
    def post(self, request, order_no):
        """The parcel came: only an order shipped and not received yet (else 409
        `not_shipped`). Unsaid, it counts as received ORDER_RECEIVE_DAYS after shipping."""
        delivery_receive(order=member_order(self.member, order_no, detail=False))
        return Response(OrderDetailSerializer(member_order(self.member, order_no)).data)


class MePickupImageApi(MemberApi):
    """The pickup code as a QR code, for the counter to scan: while the goods wait."""

    @extend_schema(
        responses={(200, "image/png"): bytes, **errors(404)}, operation_id="me_order_pickup_png"
    )
    def get(self, request, order_no):
        fulfilment = getattr(member_order(self.member, order_no), "fulfilment", None)
        if (
            fulfilment is None
            or fulfilment.kind != Fulfilment.Kind.PICKUP
            or fulfilment.status != Fulfilment.Status.TO_HAND_OVER
        ):
            raise PickupNotFound(_("This order has nothing to pick up now."))
        return HttpResponse(qr_png(fulfilment.pickup_code, box_size=8), content_type="image/png")


class MemberOrderCancelApi(MemberApi):
    @extend_schema(request=None, responses=OrderDetailSerializer, operation_id="order_cancel")
    def post(self, request, order_no):
        order_cancel(order=member_order(self.member, order_no, detail=False))
        return Response(OrderDetailSerializer(member_order(self.member, order_no)).data)


class RefundRequestInputSerializer(serializers.Serializer):
    lines = serializers.ListField(
        child=inline_serializer(
            "RefundRequestLineInput",
            {
                "sku": serializers.CharField(max_length=64),
                "quantity": serializers.IntegerField(min_value=1, max_value=999),
            },
        ),
        required=False,
        max_length=50,
    )
    amount = serializers.DecimalField(
        max_digits=12, decimal_places=2, min_value=Decimal("0.01"), required=False
    )
    reason = serializers.ChoiceField(choices=RefundRequest.Reason.choices)
    reason_text = serializers.CharField(max_length=200, required=False, allow_blank=True)

    def validate(self, attrs):
        if bool(attrs.get("lines")) == ("amount" in attrs):
            raise serializers.ValidationError(gettext("Ask for some lines or for an amount."))
        return attrs


class RefundRequestCreateApi(MemberApi):
    @extend_schema(
        request=RefundRequestInputSerializer,
        responses={
            201: inline_serializer(
                "RefundRequested",
                {"id": serializers.IntegerField(), "status": serializers.CharField()},
            ),
            **errors(400, 404, 409),
        },
        operation_id="refund_request_create",
    )
    @idempotent
    def post(self, request, order_no):
        """Ask for lines or an amount of a paid online order back, with a reason: the store
        or HQ approves, then the gateway refunds. One open request per order (409)."""
        data = RefundRequestInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        lines = [
            RefundLineInput(sku=i["sku"], quantity=i["quantity"]) for i in values.get("lines", [])
        ]
        asked = refund_request_create(
            order=member_order(self.member, order_no),
            lines=lines or None,
            amount=values.get("amount"),
            reason=values["reason"],
            reason_text=values.get("reason_text", ""),
        )
        return Response({"id": asked.pk, "status": asked.status}, status=status.HTTP_201_CREATED)


class RefundRequestCancelApi(MemberApi):
    @extend_schema(
        request=None,
        responses={200: RefundRequestSerializer, **errors(404, 409)},
        operation_id="refund_request_cancel",
    )
    def post(self, request, order_no, request_id):
        """Withdraw a request nobody has decided yet."""
        asked = refund_request_cancel(
            request=member_refund_request(self.member, order_no, request_id)
        )
        return Response(RefundRequestSerializer(asked).data)


class PaymentNotifyApi(APIView):
    """The payment gateway's notice that a member paid, of a refund's result or of a
    withdrawal's payout (a transfer's), verified by the backend from the body and the
    headers. WeChat Pay's protocol: 200 with code SUCCESS
    when taken, any 4xx or 5xx (here the usual error body, whose code is never SUCCESS) to
    have it sent again.
    A notice that cannot be verified or read is 400, never 500."""

    permission_classes = [AllowAny]
    authentication_classes = []
    # WeChat notifies from a few addresses, which a busy minute would take past the
    # anonymous rate; a notice is verified before anything is read for it.
    throttle_classes = []

    @extend_schema(
        request=None, responses={200: dict, **errors(400, 404)}, operation_id="payment_notify"
    )
    def post(self, request):
        notice = payment_backend().verify(request.body, request.headers)
        if isinstance(notice, RefundResult):
            if refund_request_refund_noticed(result=notice) is None:
                late_payment_refund_noticed(result=notice)
        elif isinstance(notice, TransferNotice):
            withdrawal_transfer_noticed(notice=notice)
        elif notice is not None:
            order_pay(notice=notice)
        return Response({"code": "SUCCESS", "message": "OK"})


class SandboxPayApi(MemberApi):
    """Pay an order in the sandbox (the demo's gateway): as if the member paid in WeChat.
    Not found on a site whose payment backend is another one."""

    @extend_schema(
        request=None,
        responses={200: OrderDetailSerializer, **errors(400)},
        operation_id="order_sandbox_pay",
    )
    def post(self, request, order_no):
        backend = payment_backend()
        if not isinstance(backend, SandboxPaymentBackend):
            raise NotFound()
        order = member_order(self.member, order_no, detail=False)
        if order.status == Order.Status.CANCELLED:
            raise OrderNotPayable()  # as WeChat refuses to pay an order it has closed
        paid = order_pay(notice=backend.verify(backend.notice(order), {}))
        return Response(OrderDetailSerializer(paid).data)

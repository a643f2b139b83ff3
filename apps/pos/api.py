from decimal import Decimal

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema, extend_schema_field, inline_serializer
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.api.fields import PhoneField
from apps.core.api.schema import errors
from apps.core.api.serializers import represented
from apps.core.api.throttling import UserRateThrottle
from apps.core.idempotency import idempotent
from apps.coupons.api import CouponOutputSerializer
from apps.coupons.selectors import usable_coupons
from apps.coupons.services import coupon_redeem
from apps.members.credentials import member_code_member
from apps.members.errors import MemberNotFound
from apps.members.selectors import guide_by_code, member_active, member_by_phone
from apps.orders.api import QuoteOutputSerializer
from apps.orders.selectors import store_order
from apps.orders.services import (
    Checkout,
    LineInput,
    RefundLineInput,
    order_place_paid,
    order_quote,
    order_refund,
)
from apps.points.selectors import points_available
from apps.pos.authentication import ApiKeyAuthentication
from apps.tiers.selectors import member_tier


class PosRateThrottle(UserRateThrottle):
    scope = "pos"


class PosApi(APIView):
    """Base of every POS endpoint: a store's API key, a per-store rate."""

    authentication_classes = [ApiKeyAuthentication]
    permission_classes = [IsAuthenticated]
    throttle_classes = [PosRateThrottle]


class PosStoreApi(PosApi):
    """Which store this key belongs to: a POS vendor's first call, to check its set-up."""

    class OutputSerializer(serializers.Serializer):
        code = serializers.CharField(source="store.code")
        name = serializers.CharField(source="store.name")
        kind = serializers.CharField(source="store.kind")
        address = serializers.CharField(source="store.full_address")
        key_name = serializers.CharField(source="key.name")

    @extend_schema(responses=OutputSerializer, operation_id="pos_store")
    def get(self, request):
        return Response(self.OutputSerializer(request.user).data)


class MemberIdentifyApi(PosApi):
    """The cashier scans the member code (会员码) or types the phone number.

    Identifying does not spend the code: the order that uses it does.
    """

    class InputSerializer(serializers.Serializer):
        member_code = serializers.CharField(max_length=32, required=False)
        phone = PhoneField(required=False)

        def validate(self, data):
            if bool(data.get("member_code")) == bool(data.get("phone")):
                raise serializers.ValidationError(_("Send either member_code or phone."))
            return data

    class OutputSerializer(serializers.Serializer):
        member_id = serializers.IntegerField(source="pk")
        phone_masked = serializers.CharField()
        name = serializers.CharField()
        tier = serializers.SerializerMethodField()
        points_available = serializers.SerializerMethodField()
        coupons = serializers.SerializerMethodField()

        def get_tier(self, member) -> dict | None:
            tier = member_tier(member)
            return {"code": tier.code, "name": tier.name, "rank": tier.rank} if tier else None

        def get_points_available(self, member) -> int:
            return points_available(member)

        @extend_schema_field(CouponOutputSerializer(many=True))
        def get_coupons(self, member) -> list:
            store = self.context["store"]
            return CouponOutputSerializer(
                usable_coupons(member, store=store, channel="store"), many=True
            ).data

    @extend_schema(
        request=InputSerializer,
        responses={200: OutputSerializer, **errors(404)},
        operation_id="pos_member_identify",
    )
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        if data.validated_data.get("member_code"):
            member = member_code_member(data.validated_data["member_code"])
        else:
            member = member_by_phone(data.validated_data["phone"])
            if member is None:
                raise MemberNotFound()
        return Response(self.OutputSerializer(member, context={"store": request.user.store}).data)


class CouponRedeemApi(PosApi):
    """核销: the cashier scans a member's coupon. Used once; the same call again answers
    already_used. `external_id` names the sale it was used for, if the POS knows it."""

    class InputSerializer(serializers.Serializer):
        external_id = serializers.CharField(max_length=64, required=False, allow_blank=True)

    @extend_schema(
        request=InputSerializer,
        responses={200: CouponOutputSerializer, **errors(409)},
        operation_id="pos_coupon_redeem",
    )
    def post(self, request, code):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        coupon = coupon_redeem(
            code=code,
            store=request.user.store,
            external_id=data.validated_data.get("external_id", ""),
        )
        return Response(represented(CouponOutputSerializer, coupon))


class OrderLineSerializer(serializers.Serializer):
    sku = serializers.CharField(max_length=64)
    name = serializers.CharField(max_length=100, required=False, allow_blank=True)
    quantity = serializers.IntegerField(min_value=1, max_value=9999)
    unit_price = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=0)


class OrderInputSerializer(serializers.Serializer):
    """The order body of API.md."""

    external_id = serializers.CharField(max_length=64)
    member_id = serializers.IntegerField(required=False)
    member_code = serializers.CharField(max_length=32, required=False, allow_blank=True)
    lines = OrderLineSerializer(many=True, allow_empty=False, max_length=200)
    coupon_codes = serializers.ListField(
        child=serializers.CharField(max_length=20), required=False, max_length=10
    )
    points = serializers.IntegerField(min_value=0, required=False, default=0)
    guide_code = serializers.CharField(max_length=12, required=False, allow_blank=True)


class QuoteInputSerializer(OrderInputSerializer):
    external_id = serializers.CharField(max_length=64, required=False)


def _checkout(request, values: dict, *, spend_code: bool) -> tuple[Checkout, str]:
    """The order body as a Checkout for this key's store; the member by id or member code
    (a code is only looked at for a quote, and spent by the order)."""
    store = request.user.store
    member, code = None, values.get("member_code") or ""
    if code:
        member = member_code_member(code)
    elif values.get("member_id"):
        member = member_active(values["member_id"])
        if member is None:
            raise MemberNotFound()
    guide = guide_by_code(values.get("guide_code"))
    checkout = Checkout(
        store=store,
        channel="pos",
        member=member,
        lines=[
            LineInput(
                sku=line["sku"],
                name=line.get("name", ""),
                quantity=line["quantity"],
                unit_price=line["unit_price"],
            )
            for line in values["lines"]
        ],
        coupon_codes=values.get("coupon_codes") or [],
        points=values.get("points") or 0,
        guide=guide if guide and guide.store_id == store.pk else None,
    )
    return checkout, code if spend_code else ""


class OrderQuoteApi(PosApi):
    """What the order would cost, itemised, before the customer pays. Writes nothing."""

    @extend_schema(
        request=QuoteInputSerializer,
        responses={200: QuoteOutputSerializer, **errors(404)},
        operation_id="pos_quote",
    )
    def post(self, request):
        data = QuoteInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        checkout, _code = _checkout(request, data.validated_data, spend_code=False)
        return Response(QuoteOutputSerializer(order_quote(checkout).as_dict()).data)


class OrderCreateApi(PosApi):
    """A paid sale. Send an Idempotency-Key: a retry answers the first order; the same
    external_id with another key answers 409 duplicate."""

    class OutputSerializer(serializers.Serializer):
        order_no = serializers.CharField()
        external_id = serializers.CharField()
        status = serializers.CharField()
        payable = serializers.DecimalField(max_digits=12, decimal_places=2)
        points_used = serializers.IntegerField()
        points_earned = serializers.IntegerField()
        quote = QuoteOutputSerializer()

    @extend_schema(
        request=OrderInputSerializer,
        responses={201: OutputSerializer, **errors(404)},
        operation_id="pos_order_create",
    )
    @idempotent
    def post(self, request):
        data = OrderInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        checkout, code = _checkout(request, data.validated_data, spend_code=True)
        order = order_place_paid(
            checkout=checkout, external_id=data.validated_data["external_id"], member_code=code
        )
        return Response(represented(self.OutputSerializer, order), status=status.HTTP_201_CREATED)


class OrderRefundApi(PosApi):
    """A refund by lines or by amount, once per refund_id."""

    class InputSerializer(serializers.Serializer):
        refund_id = serializers.CharField(max_length=64)
        lines = serializers.ListField(
            child=inline_serializer(
                "RefundLineInput",
                {
                    "sku": serializers.CharField(max_length=64),
                    "quantity": serializers.IntegerField(min_value=1),
                },
            ),
            required=False,
            allow_empty=False,
        )
        amount = serializers.DecimalField(
            max_digits=12, decimal_places=2, min_value=Decimal("0.01"), required=False
        )

        def validate(self, data):
            if bool(data.get("lines")) == (data.get("amount") is not None):
                raise serializers.ValidationError(_("Send either lines or amount."))
            return data

    class OutputSerializer(serializers.Serializer):
        refund_no = serializers.CharField()
        amount = serializers.DecimalField(max_digits=12, decimal_places=2)
        cash_refunded = serializers.DecimalField(max_digits=12, decimal_places=2)
        points_reversed = serializers.IntegerField()
        points_returned = serializers.IntegerField()
        shortfall_points = serializers.IntegerField()
        shortfall_cash = serializers.DecimalField(max_digits=12, decimal_places=2)
        coupons_restored = serializers.IntegerField()

    @extend_schema(
        request=InputSerializer, responses={201: OutputSerializer}, operation_id="pos_refund"
    )
    @idempotent
    def post(self, request, external_id):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        refund = order_refund(
            order=store_order(request.user.store, external_id),
            refund_id=values["refund_id"],
            lines=[
                RefundLineInput(sku=x["sku"], quantity=x["quantity"])
                for x in values.get("lines", [])
            ]
            or None,
            amount=values.get("amount"),
        )
        return Response(self.OutputSerializer(refund).data, status=status.HTTP_201_CREATED)

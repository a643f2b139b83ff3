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
from apps.core.api.throttling import ScopedRateThrottle, UserRateThrottle
from apps.core.idempotency import idempotent
from apps.coupons.api import CouponOutputSerializer
from apps.coupons.redemption import coupon_redeem
from apps.coupons.selectors import usable_coupons
from apps.members.credentials import (
    Identified,
    member_identify,
    member_otp_send,
)
from apps.orders.api import QuoteOutputSerializer
from apps.orders.builder import ItemInput, checkout_build, order_place_at_till
from apps.orders.checkout import Checkout, order_quote
from apps.orders.fulfilment import pickup_complete
from apps.orders.refunds import RefundLineInput, order_refund
from apps.orders.selectors import store_order, store_pickup_order
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


class IdentifiedCouponSerializer(CouponOutputSerializer):
    code = serializers.SerializerMethodField(
        help_text="The coupon's code, only when the member was identified by their member "
        "code: a coupon is spent by its code, which only its holder can show. null when "
        "identified by phone (the till sees the coupon's title, not its code)."
    )

    def get_code(self, coupon) -> str | None:
        return coupon.code if self.context.get("codes") else None


class MemberIdentifyApi(PosApi):
    """The cashier scans the member code (会员码) or types the phone number.

    Identifying does not spend the code: the order that uses it does. By phone the answer
    has the coupons' titles but not their codes."""

    class InputSerializer(serializers.Serializer):
        member_code = serializers.CharField(max_length=32, required=False)
        phone = PhoneField(required=False)

        def validate(self, data):
            if bool(data.get("member_code")) == bool(data.get("phone")):
                raise serializers.ValidationError(_("Send either member_code or phone."))
            return data

    class OutputSerializer(serializers.Serializer):
        member_id = serializers.IntegerField(source="member.pk")
        phone_masked = serializers.CharField(source="member.phone_masked")
        name = serializers.CharField(source="member.name")
        tier = serializers.SerializerMethodField()
        points_available = serializers.SerializerMethodField()
        coupons = serializers.SerializerMethodField()

        def get_tier(self, identified) -> dict | None:
            tier = member_tier(identified.member)
            return {"code": tier.code, "name": tier.name, "rank": tier.rank} if tier else None

        def get_points_available(self, identified) -> int:
            return points_available(identified.member)

        @extend_schema_field(IdentifiedCouponSerializer(many=True))
        def get_coupons(self, identified: Identified) -> list:
            coupons = usable_coupons(
                identified.member, store=self.context["store"], channel="store"
            )
            return IdentifiedCouponSerializer(
                coupons, many=True, context={"codes": bool(identified.member_code)}
            ).data

    @extend_schema(
        request=InputSerializer,
        responses={200: OutputSerializer, **errors(404)},
        operation_id="pos_member_identify",
    )
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        store = request.user.store
        identified = member_identify(
            store=store,
            member_code=data.validated_data.get("member_code", ""),
            phone=data.validated_data.get("phone", ""),
        )
        return Response(self.OutputSerializer(identified, context={"store": store}).data)


class MemberOtpApi(PosApi):
    """Text the member a one-time code to read out at this till, for a sale that spends
    their points when they cannot show their member code. Valid 5 minutes, at this store,
    once."""

    throttle_classes = [PosRateThrottle, ScopedRateThrottle]
    throttle_scope = "pos_otp"

    class InputSerializer(serializers.Serializer):
        phone = PhoneField()

    @extend_schema(
        request=InputSerializer,
        responses={
            200: inline_serializer("MemberOtpSent", {"retry_after": serializers.IntegerField()}),
            **errors(404),
        },
        operation_id="pos_member_otp",
    )
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        store = request.user.store
        identified = member_identify(store=store, phone=data.validated_data["phone"])
        return Response({"retry_after": member_otp_send(member=identified.member, store=store)})


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
    phone = PhoneField(required=False)
    member_otp = serializers.CharField(
        max_length=6,
        required=False,
        allow_blank=True,
        help_text="The code members/otp texted to the member (named by member_id or phone), "
        "which they read out: with it, or with a member_code, the sale may spend points.",
    )
    lines = OrderLineSerializer(many=True, allow_empty=False, max_length=200)
    coupon_codes = serializers.ListField(
        child=serializers.CharField(max_length=20), required=False, max_length=10
    )
    points = serializers.IntegerField(min_value=0, required=False, default=0)
    guide_code = serializers.CharField(max_length=12, required=False, allow_blank=True)

    def validate(self, data):
        if sum(bool(data.get(way)) for way in ("member_id", "member_code", "phone")) > 1:
            raise serializers.ValidationError(_("Name the member one way only."))
        if data.get("member_otp") and not (data.get("member_id") or data.get("phone")):
            raise serializers.ValidationError(
                {"member_otp": [_("A texted code goes with member_id or phone.")]}
            )
        return data


class QuoteInputSerializer(OrderInputSerializer):
    external_id = serializers.CharField(max_length=64, required=False)


def _checkout(request, values: dict) -> tuple[Checkout, Identified | None]:
    """The order body as a Checkout for this key's store, and the member it names
    (`member_identify`), who spends points only if present; nothing is spent here."""
    store = request.user.store
    identified = member_identify(
        store=store,
        member_id=values.get("member_id"),
        phone=values.get("phone", ""),
        member_code=values.get("member_code", ""),
        otp=values.get("member_otp", ""),
    )
    checkout = checkout_build(
        store=store,
        channel="pos",
        identified=identified,
        items=[
            ItemInput(
                sku=line["sku"],
                name=line.get("name", ""),
                quantity=line["quantity"],
                unit_price=line["unit_price"],
            )
            for line in values["lines"]
        ],
        coupon_codes=values.get("coupon_codes") or [],
        points=values.get("points") or 0,
        guide_code=values.get("guide_code", ""),
    )
    return checkout, identified


class OrderQuoteApi(PosApi):
    """What the order would cost, itemised, before the customer pays. Writes nothing and
    spends no code, but asks the same proof as the order to price points."""

    @extend_schema(
        request=QuoteInputSerializer,
        responses={200: QuoteOutputSerializer, **errors(404)},
        operation_id="pos_quote",
    )
    def post(self, request):
        data = QuoteInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        checkout, _identified = _checkout(request, data.validated_data)
        return Response(QuoteOutputSerializer(order_quote(checkout).as_dict()).data)


class OrderCreateApi(PosApi):
    """A paid sale. Send an Idempotency-Key: a retry answers the first order; the same
    external_id with another key answers 409 duplicate. A member named by member_id or phone
    earns; spending points needs their member_code or member_otp (spent with the sale),
    else 403 member_not_present."""

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
        checkout, identified = _checkout(request, data.validated_data)
        order = order_place_at_till(
            checkout=checkout, identified=identified, external_id=data.validated_data["external_id"]
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


class PickupCompleteApi(PosApi):
    """自提核销: the member shows the pickup code of an online order to pick up at this
    store; the goods are handed over, once (again: 409 `already_used`). A code of another
    store's order is 404; an order not paid, cancelled or refunded is 409 (`not_paid`,
    `cancelled`, `refunded`). Send an Idempotency-Key: a retry answers the first answer."""

    class OutputSerializer(serializers.Serializer):
        order_no = serializers.CharField()
        status = serializers.CharField()
        payable = serializers.DecimalField(max_digits=12, decimal_places=2)
        member_phone_masked = serializers.CharField(source="member.phone_masked", default="")
        lines = inline_serializer(
            "PickupLine",
            {
                "sku": serializers.CharField(),
                "name": serializers.CharField(),
                "quantity": serializers.IntegerField(),
                "refunded_quantity": serializers.IntegerField(),
            },
            many=True,
        )
        fulfilment = inline_serializer(
            "PickupDone",
            {
                "type": serializers.CharField(source="kind"),
                "status": serializers.CharField(),
                "done_at": serializers.DateTimeField(),
            },
        )

    @extend_schema(
        request=None,
        responses={200: OutputSerializer, **errors(404, 409)},
        operation_id="pos_pickup_complete",
    )
    @idempotent
    def post(self, request, pickup_code):
        store = request.user.store
        order = pickup_complete(
            store=store, pickup_code=pickup_code, actor=f"pos:{store.code} {request.user.key.name}"
        )
        return Response(self.OutputSerializer(store_pickup_order(order.pk)).data)

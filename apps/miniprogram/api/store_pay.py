"""在线收款 as a member reaches it: a store's pay QR, the quote of an amount, the payment
(joining the store first when the member has no home store)."""

from decimal import Decimal

from django.conf import settings
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.response import Response

from apps.core.api.schema import errors
from apps.core.idempotency import idempotent
from apps.coupons.api import CouponOutputSerializer
from apps.coupons.selectors import usable_coupons
from apps.members.selectors import guide_by_code
from apps.miniprogram.api.base import MemberApi
from apps.miniprogram.api.orders import (
    PaymentChannelSerializer,
    _payment_channel,
    placed_answer,
    placed_order,
)
from apps.miniprogram.api.stores import StoreDetailApi
from apps.orders.api import QuoteOutputSerializer
from apps.orders.checkout import coupon_channel, order_quote, tier_percent
from apps.orders.paying import order_payment_start
from apps.orders.store_pay import (
    CHANNEL,
    join_saves,
    store_pay_check,
    store_pay_checkout,
    store_pay_place,
    store_pay_suggestion,
)
from apps.points.selectors import points_available
from apps.stores.selectors import store_get_by_code
from apps.tiers.selectors import member_tier

_MONEY = {"max_digits": 12, "decimal_places": 2}


def _amount_field(**kwargs) -> serializers.DecimalField:
    return serializers.DecimalField(
        **_MONEY, min_value=Decimal("0.01"), max_value=settings.STORE_PAY_MOST, **kwargs
    )


class AmountSerializer(serializers.Serializer):
    amount = _amount_field()
    coupon_codes = serializers.ListField(
        child=serializers.CharField(max_length=20), required=False, max_length=10
    )
    points = serializers.IntegerField(min_value=0, required=False)


class StorePayPlaceSerializer(AmountSerializer, PaymentChannelSerializer):
    guide_code = serializers.CharField(max_length=12, required=False, allow_blank=True)
    join = serializers.BooleanField(
        required=False,
        default=False,
        help_text="A member with no home store joins this store first (needed to pay it).",
    )


class StorePayApi(MemberApi):
    """A store's pay QR opened: GET what this member gets paying here (with `amount`, what
    joining the store would save a member who has joined none); POST the payment."""

    class OutputSerializer(serializers.Serializer):
        store = StoreDetailApi.OutputSerializer()
        member_benefits = inline_serializer(
            "StorePayBenefits",
            {
                "joined": serializers.BooleanField(),
                "tier": inline_serializer(
                    "StorePayTier",
                    {"code": serializers.CharField(), "name": serializers.CharField()},
                    allow_null=True,
                ),
                "tier_discount_percent": serializers.DecimalField(max_digits=5, decimal_places=2),
                "coupons": CouponOutputSerializer(many=True),
                "points": inline_serializer(
                    "StorePayPoints",
                    {
                        "available": serializers.IntegerField(),
                        "rate": serializers.IntegerField(help_text="points per yuan"),
                        "cap": serializers.DecimalField(
                            max_digits=4,
                            decimal_places=2,
                            help_text="the largest share of a payment points may pay",
                        ),
                    },
                ),
                "join_saves": serializers.DecimalField(**_MONEY, allow_null=True),
            },
        )

    class QuerySerializer(serializers.Serializer):
        amount = _amount_field(required=False)

    @extend_schema(
        parameters=[OpenApiParameter("amount", str, required=False)],
        responses={200: OutputSerializer, **errors(400, 403, 404)},
        operation_id="store_pay",
    )
    def get(self, request, code):
        query = self.QuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        store = store_get_by_code(code)
        store_pay_check(store)
        member, tier = self.member, member_tier(self.member)
        joined = member.home_store_id is not None
        saves = None
        if not joined and "amount" in query.validated_data:
            checkout = store_pay_checkout(
                store=store, member=member, amount=query.validated_data["amount"]
            )
            saves = join_saves(checkout, order_quote(checkout))
        benefits = {
            "joined": joined,
            "tier": {"code": tier.code, "name": tier.name} if tier else None,
            "tier_discount_percent": tier_percent(tier, store=store, channel=CHANNEL),
            "coupons": usable_coupons(member, store=store, channel=coupon_channel(CHANNEL)),
            "points": {
                "available": points_available(member),
                "rate": settings.POINTS_DEDUCTION_RATE,
                "cap": Decimal(settings.POINTS_DEDUCTION_CAP),
            },
            "join_saves": saves,
        }
        return Response(self.OutputSerializer({"store": store, "member_benefits": benefits}).data)

    @extend_schema(
        request=StorePayPlaceSerializer,
        responses={
            201: inline_serializer(
                "StorePayment",
                {
                    "order_no": serializers.CharField(),
                    "payable": serializers.DecimalField(**_MONEY),
                    "gateway": serializers.CharField(),
                    "params": serializers.DictField(),
                },
            ),
            **errors(400, 403, 404, 503),
        },
        operation_id="store_pay_place",
    )
    def post(self, request, code):
        """Pay the store an amount: the order is placed (its coupons held, points taken)
        and committed, then the gateway is asked for its payment, as for any order; the
        same request again (same Idempotency-Key) asks for the same payment."""
        channel = _payment_channel(request)
        placed = self._place(request, code)
        if placed.status_code != status.HTTP_201_CREATED:
            return placed
        payment = order_payment_start(order=placed_order(self.member, placed), channel=channel)
        gateway = payment.pop("backend")
        placed.data = {**placed.data, "gateway": gateway, "params": payment}
        return placed

    post.idempotent = True  # through _place: the schema documents the header and 409

    @idempotent
    def _place(self, request, code):
        data = StorePayPlaceSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        checkout = store_pay_checkout(
            store=store_get_by_code(code),
            member=self.member,
            amount=values["amount"],
            coupon_codes=values.get("coupon_codes") or [],
            points=values.get("points") or 0,
            guide=guide_by_code(values.get("guide_code")),
        )
        order = store_pay_place(checkout=checkout, join=values["join"])
        return placed_answer(order, {"order_no": order.order_no, "payable": str(order.payable)})


class StorePayQuoteOutputSerializer(QuoteOutputSerializer):
    join_saves = serializers.DecimalField(
        **_MONEY,
        allow_null=True,
        help_text="For a member who has joined no store: what joining this one saves.",
    )
    suggested = inline_serializer(
        "StorePaySuggestion",
        {
            "coupon_code": serializers.CharField(allow_null=True),
            "points": serializers.IntegerField(),
        },
        allow_null=True,
        help_text="When the request chose no coupons and no points: what takes most off.",
    )


class StorePayQuoteApi(MemberApi):
    @extend_schema(
        request=AmountSerializer,
        responses={200: StorePayQuoteOutputSerializer, **errors(400, 403, 404)},
        operation_id="store_pay_quote",
    )
    def post(self, request, code):
        data = AmountSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        store = store_get_by_code(code)
        store_pay_check(store)
        checkout = store_pay_checkout(
            store=store,
            member=self.member,
            amount=values["amount"],
            coupon_codes=values.get("coupon_codes") or [],
            points=values.get("points") or 0,
        )
        priced = order_quote(checkout)
        suggestion = None
        if "coupon_codes" not in values and "points" not in values:
            suggestion = store_pay_suggestion(checkout)
        body = {
            **priced.as_dict(),
            "join_saves": None if self.member.home_store_id else join_saves(checkout, priced),
            "suggested": suggestion and vars(suggestion),
        }
        return Response(StorePayQuoteOutputSerializer(body).data)

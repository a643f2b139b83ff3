from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.throttling import UserRateThrottle
from rest_framework.views import APIView

from apps.core.api.fields import PhoneField
from apps.coupons.api import CouponOutputSerializer
from apps.coupons.selectors import usable_coupons
from apps.coupons.services import coupon_redeem
from apps.members.credentials import member_code_member
from apps.members.errors import MemberNotFound
from apps.members.selectors import member_by_phone
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
        request=InputSerializer, responses=OutputSerializer, operation_id="pos_member_identify"
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
        request=InputSerializer, responses=CouponOutputSerializer, operation_id="pos_coupon_redeem"
    )
    def post(self, request, code):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        coupon = coupon_redeem(
            code=code,
            store=request.user.store,
            external_id=data.validated_data.get("external_id", ""),
        )
        return Response(CouponOutputSerializer(coupon).data)

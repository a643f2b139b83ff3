"""The coupon wallet, coupons to claim, and coupons for points."""

from django.http import HttpResponse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from apps.core.api.pagination import PageNumberPagination, page_of
from apps.core.api.serializers import represented
from apps.core.api.throttling import ScopedRateThrottle
from apps.core.errors import Invalid
from apps.core.idempotency import HEADER as IDEMPOTENCY_HEADER
from apps.core.idempotency import idempotent
from apps.core.qr import qr_png
from apps.coupons.api import (
    CouponOutputSerializer,
    UsableInSerializer,
    percent_of_template,
    yuan_of_template,
)
from apps.coupons.errors import CouponNotFound, SoldOut
from apps.coupons.issuing import coupon_claim, coupon_exchange
from apps.coupons.selectors import claimable_templates, member_coupons, template_get
from apps.coupons.sold_out import sold_out_lately
from apps.miniprogram.api.base import MemberApi


class MeCouponsApi(MemberApi):
    """The coupon wallet: ?status=available|used|expired (default: all)."""

    @extend_schema(
        parameters=[
            OpenApiParameter("status", str, enum=["available", "used", "expired"], required=False)
        ],
        responses=page_of(CouponOutputSerializer),
        operation_id="me_coupons",
    )
    def get(self, request):
        status_wanted = request.query_params.get("status") or None
        if status_wanted not in (None, "available", "used", "expired"):
            raise Invalid(fields={"status": [_("Use available, used or expired.")]})
        paginator = PageNumberPagination()
        coupons = member_coupons(self.member, status=status_wanted).prefetch_related(
            "template__usable_stores"
        )
        page = paginator.paginate_queryset(coupons, request, view=self)
        return paginator.get_paginated_response(CouponOutputSerializer(page, many=True).data)


class MeCouponImageApi(MemberApi):
    """The coupon's QR code for the cashier to scan."""

    @extend_schema(responses={(200, "image/png"): bytes}, operation_id="me_coupon_png")
    def get(self, request, code):
        coupon = member_coupons(self.member).filter(code=code.upper()).first()
        if coupon is None:
            raise CouponNotFound()
        return HttpResponse(qr_png(coupon.code, box_size=8), content_type="image/png")


class ClaimableCouponsApi(MemberApi):
    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField(source="template.pk")
        name = serializers.CharField(source="template.name")
        kind = serializers.CharField(source="template.kind")
        description = serializers.CharField(source="template.description")
        remaining = serializers.IntegerField(allow_null=True, help_text="null: unlimited")
        per_member_limit = serializers.IntegerField(source="template.per_member_limit")
        claimed = serializers.IntegerField()
        points_price = serializers.IntegerField(source="template.points_price", allow_null=True)
        threshold = yuan_of_template("threshold")
        amount = yuan_of_template("amount")
        percent_off = percent_of_template("percent_off")
        max_discount = yuan_of_template("max_discount")
        valid_from = serializers.DateTimeField(source="template.valid_from", allow_null=True)
        valid_until = serializers.DateTimeField(
            source="template.valid_until", allow_null=True, help_text="null: see valid_days"
        )
        valid_days = serializers.IntegerField(
            source="template.valid_days",
            allow_null=True,
            help_text="usable for this many days from the claim (counting its day), never past "
            "valid_until",
        )
        usable_in = UsableInSerializer(source="template")

    @extend_schema(responses=OutputSerializer(many=True), operation_id="coupons_claimable")
    def get(self, request):
        return Response(self.OutputSerializer(claimable_templates(self.member), many=True).data)


def _refuse_when_sold_out(template_id: int) -> None:
    if sold_out_lately(template_id):
        raise SoldOut()


class CouponClaimApi(MemberApi):
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "coupon_claim"

    def initial(self, request, *args, **kwargs):
        # Once a drop has sold out the answer is the same for everyone, so the thousands of
        # taps that follow get it before their token is looked up: they cost the database
        # nothing. A retry with an Idempotency-Key still gets its first answer: a tap with a
        # key is answered so once its key has been looked up (post).
        if not request.headers.get(IDEMPOTENCY_HEADER):
            _refuse_when_sold_out(kwargs["template_id"])
        super().initial(request, *args, **kwargs)

    @extend_schema(
        request=None, responses={201: CouponOutputSerializer}, operation_id="coupon_claim"
    )
    @idempotent
    def post(self, request, template_id):
        if request.headers.get(IDEMPOTENCY_HEADER):
            _refuse_when_sold_out(template_id)
        coupon = coupon_claim(template=template_get(template_id), member=self.member)
        return Response(represented(CouponOutputSerializer, coupon), status=status.HTTP_201_CREATED)


class CouponExchangeApi(MemberApi):
    """Points for a coupon. An Idempotency-Key is required: a retry never spends the points
    twice."""

    @extend_schema(
        request=None, responses={201: CouponOutputSerializer}, operation_id="coupon_exchange"
    )
    @idempotent(required=True)
    def post(self, request, template_id):
        key = request.headers[IDEMPOTENCY_HEADER]
        coupon = coupon_exchange(template=template_get(template_id), member=self.member, key=key)
        return Response(represented(CouponOutputSerializer, coupon), status=status.HTTP_201_CREATED)

"""分销 for the member: becoming a promoter, their link, poster and figures, their
commissions, and asking to withdraw what is available."""

from django.http import HttpResponse
from django.urls import reverse
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.response import Response

from apps.core.api.pagination import PageNumberPagination, page_of
from apps.core.api.schema import errors
from apps.core.idempotency import HEADER as IDEMPOTENCY_HEADER
from apps.core.idempotency import idempotent
from apps.miniprogram.api.base import MemberApi
from apps.referrals.models import Commission, Promoter
from apps.referrals.posters import promoter_link, promoter_poster_png
from apps.referrals.promoters import promoter_apply
from apps.referrals.selectors import (
    member_promoter,
    promoter_balances,
    promoter_commissions,
    promoter_customers,
    promoter_orders_credited,
    promoter_withdrawals,
    withdrawal_confirmation,
)
from apps.referrals.withdrawals import withdrawal_request

MONEY = {"max_digits": 12, "decimal_places": 2}


class BalanceSerializer(serializers.Serializer):
    frozen = serializers.DecimalField(**MONEY, help_text="inside the return window")
    available = serializers.DecimalField(**MONEY, help_text="may be withdrawn")
    debt = serializers.DecimalField(
        **MONEY, help_text="what refunds took back after it was withdrawn: paid first"
    )


class PromoterSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=Promoter.Status.choices)
    code = serializers.CharField()
    link = serializers.CharField(help_text="the sign-in page carrying the promoter's code")
    poster_url = serializers.CharField(help_text="PNG, read with the member's token")
    balance = BalanceSerializer()
    customers = serializers.IntegerField(help_text="members bound to the promoter now")
    orders = serializers.IntegerField(help_text="paid orders credited to the promoter")


def promoter_answer(request, promoter: Promoter) -> dict:
    return PromoterSerializer(
        {
            "status": promoter.status,
            "code": promoter.member.referral_code,
            "link": promoter_link(promoter),
            "poster_url": request.build_absolute_uri(reverse("me-promoter-poster")),
            "balance": promoter_balances(promoter),
            "customers": promoter_customers(promoter).count(),
            "orders": promoter_orders_credited(promoter),
        }
    ).data


class MePromoterApi(MemberApi):
    @extend_schema(responses={200: PromoterSerializer, **errors(404)}, operation_id="me_promoter")
    def get(self, request):
        """The member as a promoter; 404 `not_promoter` if they never applied."""
        return Response(promoter_answer(request, member_promoter(self.member)))


class MePromoterApplyApi(MemberApi):
    @extend_schema(
        request=None,
        responses={201: PromoterSerializer, **errors(409)},
        operation_id="me_promoter_apply",
    )
    @idempotent
    def post(self, request):
        """Apply to promote: approved at once or waiting for HQ, by HQ's setting (409
        `already_promoter` if already applied; `not_eligible` below the spend threshold)."""
        promoter = promoter_apply(member=self.member)
        return Response(promoter_answer(request, promoter), status=status.HTTP_201_CREATED)


class MePromoterPosterApi(MemberApi):
    @extend_schema(
        responses={(200, "image/png"): bytes, **errors(404)}, operation_id="me_promoter_poster"
    )
    def get(self, request):
        promoter = member_promoter(self.member)
        response = HttpResponse(promoter_poster_png(promoter), content_type="image/png")
        response["Cache-Control"] = "private, max-age=3600"
        return response


class MePromoterCustomersApi(MemberApi):
    class OutputSerializer(serializers.Serializer):
        phone_masked = serializers.CharField()
        bound_at = serializers.DateTimeField()
        source = serializers.CharField()

    @extend_schema(
        responses={200: page_of(OutputSerializer), **errors(404)},
        operation_id="me_promoter_customers",
    )
    def get(self, request):
        """The members bound to the promoter now, their phones masked."""
        paginator = PageNumberPagination()
        promoter = member_promoter(self.member)
        page = paginator.paginate_queryset(promoter_customers(promoter), request, view=self)
        rows = [
            {
                "phone_masked": binding.member.phone_masked,
                "bound_at": binding.started_at,
                "source": binding.source,
            }
            for binding in page
        ]
        return paginator.get_paginated_response(self.OutputSerializer(rows, many=True).data)


class MeCommissionsApi(MemberApi):
    class OutputSerializer(serializers.Serializer):
        order_no = serializers.CharField(source="order.order_no")
        level = serializers.IntegerField()
        amount = serializers.DecimalField(**MONEY, help_text="less what refunds took back")
        status = serializers.ChoiceField(choices=Commission.Status.choices)
        available_on = serializers.DateTimeField()

    @extend_schema(
        responses={200: page_of(OutputSerializer), **errors(404)}, operation_id="me_commissions"
    )
    def get(self, request):
        paginator = PageNumberPagination()
        promoter = member_promoter(self.member)
        page = paginator.paginate_queryset(promoter_commissions(promoter), request, view=self)
        for commission in page:
            commission.amount -= commission.reversed
        return paginator.get_paginated_response(self.OutputSerializer(page, many=True).data)


class WithdrawalConfirmationSerializer(serializers.Serializer):
    mch_id = serializers.CharField(help_text="wx.requestMerchantTransfer's mchId")
    app_id = serializers.CharField(help_text="its appId")
    package_info = serializers.CharField(help_text="its package")


class WithdrawalSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    amount = serializers.DecimalField(**MONEY)
    fee = serializers.DecimalField(**MONEY)
    status = serializers.CharField(
        help_text="requested | approved | confirming (awaiting the member's confirmation of "
        "receipt in WeChat) | paid | refused | failed"
    )
    requested_at = serializers.DateTimeField()
    reason = serializers.CharField(help_text="why finance refused it, or the payout failed")
    confirmation = serializers.SerializerMethodField(
        help_text="while it is confirming: what the mini-program passes to "
        "wx.requestMerchantTransfer for the member to confirm receipt; else null. WeChat "
        "cancels a transfer not confirmed within 24 hours, and the money is available again."
    )

    @extend_schema_field(WithdrawalConfirmationSerializer(allow_null=True))
    def get_confirmation(self, withdrawal) -> dict | None:
        return withdrawal_confirmation(withdrawal)


class MeWithdrawalsApi(MemberApi):
    class InputSerializer(serializers.Serializer):
        amount = serializers.DecimalField(**MONEY, min_value=0)

    @extend_schema(
        responses={200: page_of(WithdrawalSerializer), **errors(404)},
        operation_id="me_withdrawals",
    )
    def get(self, request):
        paginator = PageNumberPagination()
        promoter = member_promoter(self.member)
        page = paginator.paginate_queryset(promoter_withdrawals(promoter), request, view=self)
        return paginator.get_paginated_response(WithdrawalSerializer(page, many=True).data)

    @extend_schema(
        request=InputSerializer,
        responses={201: WithdrawalSerializer, **errors(400, 404)},
        operation_id="me_withdrawal_request",
    )
    @idempotent(required=True)
    def post(self, request):
        """Ask to withdraw `amount` yuan of what is available: 400 below the minimum, above
        what is available, past the daily limit or while a refund's debt is unpaid. An
        Idempotency-Key is required: a retry never asks twice."""
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        withdrawal = withdrawal_request(
            promoter=member_promoter(self.member),
            amount=data.validated_data["amount"],
            key=request.headers[IDEMPOTENCY_HEADER],
        )
        return Response(WithdrawalSerializer(withdrawal).data, status=status.HTTP_201_CREATED)

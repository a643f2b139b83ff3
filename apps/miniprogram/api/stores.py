"""Stores as a member reaches them: a store's card and joining it."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.idempotency import idempotent
from apps.members.selectors import guide_by_code
from apps.members.services import member_store_join
from apps.miniprogram.api.base import MemberApi, MemberOutputSerializer, member_data
from apps.stores.selectors import store_get_by_code


class StoreDetailApi(APIView):
    """A store's public card, shown when a member scans its QR code (before or after login)."""

    permission_classes = [AllowAny]

    class OutputSerializer(serializers.Serializer):
        code = serializers.CharField()
        name = serializers.CharField()
        address = serializers.CharField(source="full_address")
        kind = serializers.CharField()
        pay_enabled = serializers.BooleanField(
            help_text="Members can pay it an amount by its pay QR (stores/{code}/pay)."
        )

    @extend_schema(responses=OutputSerializer, operation_id="store_detail")
    def get(self, request, code):
        return Response(self.OutputSerializer(store_get_by_code(code)).data)


class StoreJoinApi(MemberApi):
    class InputSerializer(serializers.Serializer):
        guide_code = serializers.CharField(max_length=12, required=False, allow_blank=True)

    @extend_schema(
        request=InputSerializer, responses=MemberOutputSerializer, operation_id="store_join"
    )
    @idempotent
    def post(self, request, code):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        store = store_get_by_code(code)
        member = member_store_join(
            member=self.member,
            store=store,
            guide=guide_by_code(data.validated_data.get("guide_code")),
        )
        return Response(member_data(member))

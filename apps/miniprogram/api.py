from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.stores.selectors import store_get_by_code


class StoreDetailApi(APIView):
    """A store's public card, shown when a member scans its QR code (before or after login)."""

    permission_classes = [AllowAny]

    class OutputSerializer(serializers.Serializer):
        code = serializers.CharField()
        name = serializers.CharField()
        address = serializers.CharField(source="full_address")
        kind = serializers.CharField()

    @extend_schema(responses=OutputSerializer, operation_id="store_detail")
    def get(self, request, code):
        return Response(self.OutputSerializer(store_get_by_code(code)).data)

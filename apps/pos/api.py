from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.throttling import UserRateThrottle
from rest_framework.views import APIView

from apps.pos.authentication import ApiKeyAuthentication


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

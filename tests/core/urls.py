"""Views that exist only to drive the API plumbing through each of its paths."""

import time

from django.urls import include, path
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers
from rest_framework.authentication import BasicAuthentication
from rest_framework.generics import ListAPIView
from rest_framework.permissions import AllowAny, IsAdminUser
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.api.throttling import AnonRateThrottle
from apps.core.audit import audit_record
from apps.core.errors import DomainError
from apps.core.idempotency import idempotent
from apps.core.models import AuditEntry
from config.urls import handler404, handler500  # noqa: F401  (the project's error pages)


class SoldOut(DomainError):
    code = "sold_out"
    status = 409
    default_message = _("The coupon %(name)s is sold out.")


class LinesSerializer(serializers.Serializer):
    sku = serializers.CharField()
    quantity = serializers.IntegerField(min_value=1)


class OrderInput(serializers.Serializer):
    phone = serializers.CharField()
    quantity = serializers.IntegerField(min_value=1)
    lines = LinesSerializer(many=True, required=False)


class ValidateView(APIView):
    permission_classes = [AllowAny]

    def post(self, request):
        OrderInput(data=request.data).is_valid(raise_exception=True)
        return Response({"ok": True})


class DomainErrorView(APIView):
    permission_classes = [AllowAny]

    def get(self, request):
        raise SoldOut(name="限量闪券")


class BasicAuthView(APIView):
    authentication_classes = [BasicAuthentication]

    def get(self, request):
        return Response({"ok": True})


class HqOnlyView(APIView):
    authentication_classes = [BasicAuthentication]
    permission_classes = [IsAdminUser]

    def get(self, request):
        return Response({"ok": True})


class OncePerMinute(AnonRateThrottle):
    rate = "1/min"


class ThrottledView(APIView):
    permission_classes = [AllowAny]
    throttle_classes = [OncePerMinute]

    def get(self, request):
        return Response({"ok": True})


class CrashView(APIView):
    permission_classes = [AllowAny]

    def get(self, request):
        raise RuntimeError("boom")


class RecordView(APIView):
    """Writes one audit entry per request: what a replay must not repeat."""

    authentication_classes = [BasicAuthentication]
    permission_classes = [AllowAny]

    @idempotent
    def post(self, request):
        time.sleep(float(request.data.get("slow", 0)))
        actor = request.user if request.user.is_authenticated else None
        entry = audit_record(actor=actor, action="test.write", after=request.data)
        if request.data.get("fail") == "domain":
            raise SoldOut(name="测试")
        if request.data.get("fail") == "crash":
            raise RuntimeError("crash after the write")
        return Response({"entry": entry.pk, "echo": request.data}, status=201)


class EntrySerializer(serializers.ModelSerializer):
    class Meta:
        model = AuditEntry
        fields = ["id", "action", "actor_label"]


class EntryListView(ListAPIView):
    authentication_classes = [BasicAuthentication]
    permission_classes = [IsAdminUser]
    serializer_class = EntrySerializer
    queryset = AuditEntry.objects.order_by("id")


urlpatterns = [
    path("api/test/validate", ValidateView.as_view()),
    path("api/test/domain-error", DomainErrorView.as_view()),
    path("api/test/basic-auth", BasicAuthView.as_view()),
    path("api/test/hq-only", HqOnlyView.as_view()),
    path("api/test/throttled", ThrottledView.as_view()),
    path("api/test/crash", CrashView.as_view()),
    path("api/test/record", RecordView.as_view()),
    path("api/test/entries", EntryListView.as_view()),
    path("", include("config.urls")),
]

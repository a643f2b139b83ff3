"""The coupon as API.md shows it, to members and to the POS alike."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.coupons.selectors import coupon_display_status


class CouponOutputSerializer(serializers.Serializer):
    code = serializers.CharField()
    status = serializers.SerializerMethodField()
    name = serializers.CharField(source="template.name")
    kind = serializers.CharField(source="template.kind")
    valid_from = serializers.DateTimeField()
    valid_until = serializers.DateTimeField()
    template_id = serializers.IntegerField()
    threshold = serializers.DecimalField(
        source="template.threshold", max_digits=12, decimal_places=2, allow_null=True
    )
    amount = serializers.DecimalField(
        source="template.amount", max_digits=12, decimal_places=2, allow_null=True
    )
    percent_off = serializers.DecimalField(
        source="template.percent_off", max_digits=5, decimal_places=2, allow_null=True
    )
    description = serializers.CharField(source="template.description")

    @extend_schema_field(
        serializers.ChoiceField(choices=["available", "locked", "used", "expired", "void"])
    )
    def get_status(self, coupon) -> str:
        return coupon_display_status(coupon)

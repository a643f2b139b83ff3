"""The coupon as API.md shows it, to members and to the POS alike, and the terms of its
template that every answer about a coupon or a claimable template shares."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.coupons.models import CouponTemplate
from apps.coupons.selectors import coupon_display_status


def yuan_of_template(field: str) -> serializers.DecimalField:
    return serializers.DecimalField(
        source=f"template.{field}", max_digits=12, decimal_places=2, allow_null=True
    )


def percent_of_template(field: str) -> serializers.DecimalField:
    return serializers.DecimalField(
        source=f"template.{field}", max_digits=5, decimal_places=2, allow_null=True
    )


class UsableStoreSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()


class UsableInSerializer(serializers.Serializer):
    """Where a template's coupons can be used (read from `template.usable_stores`, which the
    lists prefetch)."""

    channels = serializers.SerializerMethodField()
    stores = serializers.SerializerMethodField(help_text="null: every store")

    @extend_schema_field(
        serializers.ListField(child=serializers.ChoiceField(choices=CouponTemplate.CHANNELS))
    )
    def get_channels(self, template: CouponTemplate) -> list[str]:
        return [channel for channel in CouponTemplate.CHANNELS if channel in template.channel_set]

    @extend_schema_field(UsableStoreSerializer(many=True, allow_null=True))
    def get_stores(self, template: CouponTemplate) -> list[dict] | None:
        stores = sorted(template.usable_stores.all(), key=lambda store: store.code)
        return [{"code": store.code, "name": store.name} for store in stores] or None


class CouponOutputSerializer(serializers.Serializer):
    code = serializers.CharField()
    status = serializers.SerializerMethodField()
    name = serializers.CharField(source="template.name")
    kind = serializers.CharField(source="template.kind")
    valid_from = serializers.DateTimeField()
    valid_until = serializers.DateTimeField()
    template_id = serializers.IntegerField()
    threshold = yuan_of_template("threshold")
    amount = yuan_of_template("amount")
    percent_off = percent_of_template("percent_off")
    description = serializers.CharField(source="template.description")
    max_discount = yuan_of_template("max_discount")
    usable_in = UsableInSerializer(source="template")

    @extend_schema_field(
        serializers.ChoiceField(choices=["available", "locked", "used", "expired", "void"])
    )
    def get_status(self, coupon) -> str:
        return coupon_display_status(coupon)

"""The quote as API.md shows it, to the POS and to members alike."""

from rest_framework import serializers


class AppliedSerializer(serializers.Serializer):
    type = serializers.CharField()
    label = serializers.CharField()
    amount = serializers.DecimalField(max_digits=12, decimal_places=2)
    coupon_code = serializers.CharField(required=False, help_text="For a coupon.")


class RejectedSerializer(serializers.Serializer):
    coupon_code = serializers.CharField()
    code = serializers.CharField()
    message = serializers.CharField()


class QuoteOutputSerializer(serializers.Serializer):
    subtotal = serializers.DecimalField(max_digits=12, decimal_places=2)
    member_discount = serializers.DecimalField(max_digits=12, decimal_places=2)
    coupon_discount = serializers.DecimalField(max_digits=12, decimal_places=2)
    points_deduction = serializers.DecimalField(max_digits=12, decimal_places=2)
    points_used = serializers.IntegerField()
    shipping_fee = serializers.DecimalField(
        max_digits=12,
        decimal_places=2,
        help_text="An online delivery's, paid in cash on top of the goods; 0 otherwise.",
    )
    payable = serializers.DecimalField(max_digits=12, decimal_places=2)
    points_to_earn = serializers.IntegerField()
    applied = AppliedSerializer(many=True)
    rejected = RejectedSerializer(many=True)

"""What every mini-program endpoint of a signed-in member shares: the base view and the
member as API.md shows it."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.views import APIView

from apps.members.models import Member
from apps.miniprogram.authentication import MemberTokenAuthentication
from apps.points.selectors import points_totals
from apps.points.windows import points_windows_data
from apps.tiers.models import TierChannelBenefit
from apps.tiers.selectors import tier_summary


class MemberApi(APIView):
    """Base of the endpoints a signed-in member calls."""

    authentication_classes = [MemberTokenAuthentication]
    permission_classes = [IsAuthenticated]

    @property
    def member(self) -> Member:
        return self.request.user.member


def _percent():
    return serializers.DecimalField(max_digits=5, decimal_places=2)


class TierChannelBenefitSerializer(serializers.Serializer):
    channel = serializers.ChoiceField(choices=TierChannelBenefit.Channel.values)
    discount_percent = _percent()


class TierBenefitsSerializer(serializers.Serializer):
    discount_percent = _percent()
    points_multiplier = serializers.DecimalField(max_digits=4, decimal_places=2)
    birthday_gift = serializers.CharField(help_text="empty: none")
    free_shipping = serializers.BooleanField()
    members_only_access = serializers.BooleanField()
    channels = TierChannelBenefitSerializer(
        many=True, help_text="channels where the tier's discount differs"
    )


class TierOutputSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    rank = serializers.IntegerField()
    benefits = TierBenefitsSerializer()


class GrowthOutputSerializer(serializers.Serializer):
    value = serializers.IntegerField(help_text="growth value in the window that counts")
    next_tier = serializers.CharField(allow_null=True)
    to_next = serializers.IntegerField(allow_null=True)
    to_keep = serializers.IntegerField(
        allow_null=True, help_text="still needed by keep_by to keep the tier; 0: kept"
    )
    next_tier_name = serializers.CharField(allow_null=True)
    keep_by = serializers.DateField(
        allow_null=True, help_text="the tier's next review; null: nothing to keep"
    )


class MemberOutputSerializer(serializers.Serializer):
    """The member of API.md."""

    id = serializers.IntegerField()
    phone_masked = serializers.CharField()
    name = serializers.CharField()
    gender = serializers.CharField()
    birthday = serializers.DateField(allow_null=True)
    referral_code = serializers.CharField()
    marketing_consent = serializers.BooleanField()
    tier = serializers.SerializerMethodField()
    growth = serializers.SerializerMethodField()
    points = serializers.SerializerMethodField()
    home_store = serializers.SerializerMethodField()
    points_windows = serializers.SerializerMethodField(
        help_text="For each use of points (exchange, deduction): whether HQ limits it to "
        "windows, whether it is open today, when the open window closes and when the next "
        "one opens."
    )

    def _tiers(self, member) -> dict:
        cache = self.__dict__.setdefault("_tier_summaries", {})
        if member.pk not in cache:
            cache[member.pk] = tier_summary(member)
        return cache[member.pk]

    @extend_schema_field(TierOutputSerializer(allow_null=True))
    def get_tier(self, member) -> dict | None:
        tier = self._tiers(member)["tier"]
        return TierOutputSerializer(tier).data if tier else None

    @extend_schema_field(GrowthOutputSerializer)
    def get_growth(self, member) -> dict:
        return GrowthOutputSerializer(self._tiers(member)["growth"]).data

    def get_points(self, member) -> dict:
        totals = points_totals(member)
        expiring = [
            {"amount": e["amount"], "expires_on": e["expires_on"].isoformat()}
            for e in totals["expiring"]
        ]
        return {**totals, "expiring": expiring}

    def get_points_windows(self, member) -> dict:
        return points_windows_data()

    def get_home_store(self, member) -> dict | None:
        store = member.home_store
        return {"code": store.code, "name": store.name} if store else None


def member_data(member: Member) -> dict:
    return MemberOutputSerializer(member).data

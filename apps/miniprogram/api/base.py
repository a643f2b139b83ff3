"""What every mini-program endpoint of a signed-in member shares: the base view and the
member as API.md shows it."""

from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.views import APIView

from apps.members.models import Member
from apps.miniprogram.authentication import MemberTokenAuthentication
from apps.points.selectors import points_totals
from apps.tiers.selectors import tier_summary


class MemberApi(APIView):
    """Base of the endpoints a signed-in member calls."""

    authentication_classes = [MemberTokenAuthentication]
    permission_classes = [IsAuthenticated]

    @property
    def member(self) -> Member:
        return self.request.user.member


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

    def _tiers(self, member) -> dict:
        cache = self.__dict__.setdefault("_tier_summaries", {})
        if member.pk not in cache:
            cache[member.pk] = tier_summary(member)
        return cache[member.pk]

    def get_tier(self, member) -> dict | None:
        return self._tiers(member)["tier"]

    def get_growth(self, member) -> dict:
        return self._tiers(member)["growth"]

    def get_points(self, member) -> dict:
        totals = points_totals(member)
        expiring = [
            {"amount": e["amount"], "expires_on": e["expires_on"].isoformat()}
            for e in totals["expiring"]
        ]
        return {**totals, "expiring": expiring}

    def get_home_store(self, member) -> dict | None:
        store = member.home_store
        return {"code": store.code, "name": store.name} if store else None


def member_data(member: Member) -> dict:
    return MemberOutputSerializer(member).data

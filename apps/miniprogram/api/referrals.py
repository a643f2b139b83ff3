"""老带新: the member's referral code and link, and the friends they brought."""

from django.http import HttpResponse
from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from apps.miniprogram.api.base import MemberApi
from apps.referrals.posters import referral_poster_png
from apps.referrals.selectors import INVITED_SHOWN, member_referrals, referral_link


class InvitedSerializer(serializers.Serializer):
    phone_masked = serializers.CharField()
    joined_at = serializers.DateTimeField()
    reward_status = serializers.ChoiceField(
        choices=["waiting", "pending", "rewarded", "taken_back", "limit_reached", "none"]
    )


class MeReferralsApi(MemberApi):
    class OutputSerializer(serializers.Serializer):
        code = serializers.CharField()
        link = serializers.CharField(help_text="sign-in with the code: share it or make a QR")
        poster_url = serializers.CharField(help_text="PNG, read with the member's token")
        invited_count = serializers.IntegerField(help_text="every friend brought")
        invited = InvitedSerializer(
            many=True, help_text=f"the latest {INVITED_SHOWN}, newest first"
        )

    @extend_schema(responses=OutputSerializer, operation_id="me_referrals")
    def get(self, request):
        count, invited = member_referrals(self.member)
        answer = {
            "code": self.member.referral_code,
            "link": referral_link(self.member),
            "poster_url": request.build_absolute_uri(reverse("me-referrals-poster")),
            "invited_count": count,
            "invited": invited,
        }
        return Response(self.OutputSerializer(answer).data)


class MeReferralsPosterApi(MemberApi):
    @extend_schema(responses={(200, "image/png"): bytes}, operation_id="me_referrals_poster")
    def get(self, request):
        response = HttpResponse(referral_poster_png(self.member), content_type="image/png")
        response["Cache-Control"] = "private, max-age=3600"
        return response

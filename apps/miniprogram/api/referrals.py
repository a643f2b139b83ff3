"""老带新: the member's referral code and link, and the friends they brought."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from apps.miniprogram.api.base import MemberApi
from apps.referrals.selectors import INVITED_SHOWN, member_referrals, referral_link


class InvitedSerializer(serializers.Serializer):
    phone_masked = serializers.CharField()
    joined_at = serializers.DateTimeField()
    reward_status = serializers.ChoiceField(
        choices=["waiting", "pending", "rewarded", "limit_reached", "none"]
    )


class MeReferralsApi(MemberApi):
    class OutputSerializer(serializers.Serializer):
        code = serializers.CharField()
        link = serializers.CharField(help_text="sign-in with the code: share it or make a QR")
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
            "invited_count": count,
            "invited": invited,
        }
        return Response(self.OutputSerializer(answer).data)

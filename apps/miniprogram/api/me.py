"""The signed-in member: their profile, their data, their member code."""

from django.http import HttpResponse, JsonResponse
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.response import Response

from apps.core.api.schema import errors
from apps.core.qr import qr_png
from apps.members.credentials import member_code_check, member_code_issue
from apps.members.models import Member
from apps.members.services import member_delete, member_profile_update
from apps.miniprogram.api.base import MemberApi, MemberOutputSerializer, member_data
from apps.miniprogram.personal_data import member_export


class MeApi(MemberApi):
    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=50, required=False, allow_blank=True)
        gender = serializers.ChoiceField(choices=Member.Gender.choices, required=False)
        birthday = serializers.DateField(required=False)
        marketing_consent = serializers.BooleanField(required=False)

    @extend_schema(responses=MemberOutputSerializer, operation_id="me")
    def get(self, request):
        return Response(member_data(self.member))

    @extend_schema(
        request=InputSerializer, responses=MemberOutputSerializer, operation_id="me_update"
    )
    def patch(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return Response(
            member_data(member_profile_update(member=self.member, **data.validated_data))
        )

    @extend_schema(responses={204: None}, operation_id="me_delete")
    def delete(self, request):
        """Close the account: personal data is erased; this cannot be undone."""
        member_delete(member=self.member)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeExportApi(MemberApi):
    @extend_schema(responses={200: dict}, operation_id="me_export")
    def get(self, request):
        """Everything Huiji keeps about me (PIPL): profile, consent, channel ids, tags, visits,
        referrals, sign-ins, tier and growth, points, coupons, orders with their lines."""
        # Django's encoder: money as exact text ("119.90"), never a float.
        response = JsonResponse(
            member_export(self.member), json_dumps_params={"ensure_ascii": False}
        )
        response["Content-Disposition"] = 'attachment; filename="my-huiji-data.json"'
        return response


class MemberCodeApi(MemberApi):
    """A new member code at every call: single use, valid at most 120 s."""

    @extend_schema(
        responses=inline_serializer(
            "MemberCode",
            {"code": serializers.CharField(), "expires_at": serializers.DateTimeField()},
        ),
        operation_id="me_code",
    )
    def get(self, request):
        code, expires_at = member_code_issue(member=self.member)
        return Response(
            {"code": code, "expires_at": serializers.DateTimeField().to_representation(expires_at)}
        )


class MemberCodeImageApi(MemberApi):
    """The member code as a QR image: `?code=` draws the one `me/code` just gave (the same
    code as its digits), only while it is this member's and unspent; without it, a new one."""

    @extend_schema(
        parameters=[OpenApiParameter("code", str, required=False)],
        responses={(200, "image/png"): bytes, **errors(404)},
        operation_id="me_code_png",
    )
    def get(self, request):
        code = request.query_params.get("code", "")
        if code:
            member_code_check(member=self.member, code=code)
        else:
            code, _expires_at = member_code_issue(member=self.member)
        response = HttpResponse(qr_png(code, box_size=8), content_type="image/png")
        response["Cache-Control"] = "no-store"
        return response

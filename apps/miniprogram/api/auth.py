"""Signing in and out: texted codes, sign-in by code or WeChat, the official account's
openid, logout."""

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.api.fields import PhoneField
from apps.core.api.schema import errors
from apps.core.api.throttling import ScopedRateThrottle
from apps.core.audit import request_ip
from apps.members.credentials import member_token_revoke, sms_code_send
from apps.members.models import PromoterBinding
from apps.members.services import member_wechat_oa_bind
from apps.members.sign_in import BindRequired, SignedIn, member_sign_in, member_wechat_sign_in
from apps.miniprogram.api.base import MemberApi, MemberOutputSerializer, member_data
from apps.referrals.promoters import promoter_touch

SignedInSerializer = inline_serializer(
    "SignedIn",
    {
        "token": serializers.CharField(),
        "created": serializers.BooleanField(),
        "member": MemberOutputSerializer(),
    },
)
WechatLoginSerializer = inline_serializer(
    "WechatSignedIn",
    {
        "token": serializers.CharField(required=False),
        "created": serializers.BooleanField(required=False),
        "member": MemberOutputSerializer(required=False),
        "bind_required": serializers.BooleanField(required=False),
        "session": serializers.CharField(
            required=False, help_text="Send it with auth/login as wechat_session to bind a phone."
        ),
    },
)


def signed_in_data(signed: SignedIn) -> dict:
    return {"token": signed.token, "created": signed.created, "member": member_data(signed.member)}


class SmsCodeApi(APIView):
    permission_classes = [AllowAny]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "sms_ip"

    class InputSerializer(serializers.Serializer):
        phone = PhoneField()

    @extend_schema(
        request=InputSerializer,
        responses=inline_serializer("SmsCodeSent", {"retry_after": serializers.IntegerField()}),
        operation_id="auth_sms_code",
    )
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        retry_after = sms_code_send(phone=data.validated_data["phone"], ip=request_ip(request))
        return Response({"retry_after": retry_after})


class LoginApi(APIView):
    permission_classes = [AllowAny]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "login_ip"

    class InputSerializer(serializers.Serializer):
        phone = PhoneField()
        code = serializers.CharField(max_length=12)
        store_code = serializers.CharField(max_length=16, required=False, allow_blank=True)
        guide_code = serializers.CharField(max_length=12, required=False, allow_blank=True)
        referral_code = serializers.CharField(max_length=12, required=False, allow_blank=True)
        promoter_code = serializers.CharField(max_length=12, required=False, allow_blank=True)
        device_id = serializers.CharField(max_length=64, required=False, allow_blank=True)
        wechat_session = serializers.CharField(required=False, allow_blank=True)

    @extend_schema(
        request=InputSerializer,
        responses={200: SignedInSerializer, **errors(403)},
        operation_id="auth_login",
    )
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        signed = member_sign_in(
            phone=values["phone"],
            code=values["code"],
            ip=request_ip(request),
            store_code=values.get("store_code", ""),
            guide_code=values.get("guide_code", ""),
            referral_code=values.get("referral_code", ""),
            device=values.get("device_id", ""),
            wechat_session=values.get("wechat_session", ""),
        )
        if values.get("promoter_code"):
            promoter_touch(
                member=signed.member,
                code=values["promoter_code"],
                source=PromoterBinding.Source.LINK,
                new_member=signed.created,
            )
        return Response(signed_in_data(signed))


class WechatLoginApi(APIView):
    permission_classes = [AllowAny]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "login_ip"

    class InputSerializer(serializers.Serializer):
        code = serializers.CharField(max_length=128)

    @extend_schema(
        request=InputSerializer, responses=WechatLoginSerializer, operation_id="auth_wechat"
    )
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        signed = member_wechat_sign_in(code=data.validated_data["code"])
        if isinstance(signed, BindRequired):
            return Response({"bind_required": True, "session": signed.session})
        return Response(signed_in_data(signed))


class WechatOaBindApi(MemberApi):
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "login_ip"

    class InputSerializer(serializers.Serializer):
        code = serializers.CharField(max_length=128)

    @extend_schema(
        request=InputSerializer,
        responses={200: MemberOutputSerializer, **errors(409)},
        operation_id="auth_wechat_oa",
    )
    def post(self, request):
        """Bind the signed-in member's openid under the brand's official account, from the
        code of WeChat's web OAuth (snsapi_base) in WeChat's browser: then orders can be paid
        there (`orders/{order_no}/pay` with channel wechat_browser). Again is a no-op; an
        openid bound to another member answers 409."""
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        member_wechat_oa_bind(member=self.member, code=data.validated_data["code"])
        return Response(member_data(self.member))


class LogoutApi(MemberApi):
    @extend_schema(request=None, responses={204: None}, operation_id="auth_logout")
    def post(self, request):
        member_token_revoke(raw=request.auth)
        return Response(status=status.HTTP_204_NO_CONTENT)

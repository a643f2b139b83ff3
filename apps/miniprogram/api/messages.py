"""The member's inbox and the WeChat subscription messages they accept; the SMS provider's
delivery receipts."""

import hmac
import json
import re

from django.conf import settings
from django.utils.module_loading import import_string
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.api.pagination import PageNumberPagination, page_of
from apps.core.api.schema import errors
from apps.core.errors import Invalid, NotFound
from apps.core.idempotency import idempotent
from apps.marketing.inbox import message_read, subscriptions_accept
from apps.marketing.receipts import receipts_record
from apps.marketing.selectors import member_inbox, member_inbox_unread
from apps.miniprogram.api.base import MemberApi

# What a WeChat subscription message template id looks like.
TEMPLATE_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
# The most one-time subscriptions one acceptance adds to a template (WeChat asks for one).
MOST_ACCEPTED = 10


class MeMessagesApi(MemberApi):
    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        title = serializers.CharField()
        body = serializers.CharField()
        link = serializers.CharField()
        created_at = serializers.DateTimeField(help_text="when it reached the inbox")
        read = serializers.BooleanField()

    @extend_schema(responses=page_of(OutputSerializer), operation_id="me_messages")
    def get(self, request):
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(member_inbox(self.member), request, view=self)
        rows = [
            {
                "id": message.pk,
                "title": message.title,
                "body": message.body,
                "link": message.link,
                "created_at": message.sent_at,
                "read": message.read_at is not None,
            }
            for message in page
        ]
        return paginator.get_paginated_response(self.OutputSerializer(rows, many=True).data)


class MeMessagesUnreadApi(MemberApi):
    class OutputSerializer(serializers.Serializer):
        unread = serializers.IntegerField(help_text="inbox messages not read yet")

    @extend_schema(responses=OutputSerializer, operation_id="me_messages_unread")
    def get(self, request):
        return Response({"unread": member_inbox_unread(self.member)})


class MeMessageReadApi(MemberApi):
    @extend_schema(
        request=None, responses={204: None, **errors(404)}, operation_id="me_message_read"
    )
    def post(self, request, message_id):
        message_read(member=self.member, message_id=message_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeSubscriptionsApi(MemberApi):
    class InputSerializer(serializers.Serializer):
        templates = serializers.DictField(
            child=serializers.IntegerField(min_value=1, max_value=MOST_ACCEPTED),
            allow_empty=False,
            help_text="By WeChat template id, the one-time subscriptions just accepted.",
        )

        def validate_templates(self, templates: dict) -> dict:
            if not all(TEMPLATE_ID.fullmatch(template_id) for template_id in templates):
                raise serializers.ValidationError(_("A WeChat template id is not valid."))
            return templates

    class OutputSerializer(serializers.Serializer):
        templates = serializers.DictField(
            child=serializers.IntegerField(),
            help_text="By WeChat template id, the messages the member may now be sent.",
        )

    @extend_schema(
        request=InputSerializer,
        responses={200: OutputSerializer, **errors(400)},
        operation_id="me_subscriptions",
    )
    @idempotent
    def put(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        left = subscriptions_accept(member=self.member, accepted=data.validated_data["templates"])
        return Response(self.OutputSerializer({"templates": left}).data)


class SmsReceiptsApi(APIView):
    """The SMS provider's delivery receipts (Tencent Cloud SMS's status callback). The
    provider signs nothing: the address holds SMS_RECEIPT_TOKEN, and any other address, or
    a site without one or with a provider that sends none, is 404. Receipts already taken
    change nothing. Answered as Tencent Cloud asks: result 0 when taken; a body that is
    not a list of reports is 400."""

    permission_classes = [AllowAny]
    authentication_classes = []
    throttle_classes = []  # the provider reports from a few addresses, many at a time

    class OutputSerializer(serializers.Serializer):
        result = serializers.IntegerField(help_text="0: taken")
        errmsg = serializers.CharField()

    @extend_schema(
        request=None,
        responses={200: OutputSerializer, **errors(400, 404)},
        operation_id="sms_receipts",
    )
    def post(self, request, token):
        expected = settings.SMS_RECEIPT_TOKEN
        backend = import_string(settings.SMS_BACKEND)
        if (
            not expected
            or not hmac.compare_digest(token.encode(), expected.encode())
            or not hasattr(backend, "callback_receipts")
        ):
            raise NotFound()
        try:
            receipts = backend.callback_receipts(json.loads(request.body))
        except (ValueError, RecursionError) as exc:  # not JSON, nested too deep, not reports
            raise Invalid(_("These are not delivery receipts.")) from exc
        receipts_record(receipts)
        return Response({"result": 0, "errmsg": "OK"})

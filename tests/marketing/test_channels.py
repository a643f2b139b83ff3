"""A marketing text goes through the SMS provider of sign-in codes (Tencent Cloud SMS, its
local fake here) in the template HQ named, its variables as the template's parameters."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from apps.marketing.models import Message
from apps.marketing.outbox import messages_queue, messages_send_due
from tests.core.test_sms import tencent  # noqa: F401  (the fake Tencent Cloud SMS API)
from tests.fake_http import Answer
from tests.marketing.factories import MessageTemplateFactory
from tests.members.factories import MemberFactory

pytestmark = pytest.mark.django_db


def text_to(member, **template):
    template = MessageTemplateFactory(channel="sms", **template)
    messages_queue(
        template=template,
        member_ids=[member.pk],
        cause_kind="t",
        cause_id=1,
        values={"coupon": "满100减20"},
    )
    messages_send_due(now=timezone.now() + timedelta(seconds=1))
    return Message.objects.get(member=member)


def test_a_text_goes_in_its_approved_template_with_its_variables_in_order(tencent):  # noqa: F811
    member = MemberFactory(name="李雷", phone="13800138000", marketing_consent=True)

    message = text_to(member, body="{name}您好，{coupon}已到账，{name}", sms_template_id="2041")

    [request] = tencent.received
    assert request.json() == {
        "PhoneNumberSet": ["+8613800138000"],
        "SmsSdkAppId": "1400006666",
        "SignName": "会籍优选",
        "TemplateId": "2041",
        "TemplateParamSet": ["李雷", "满100减20"],
    }
    assert message.status == "sent"


def test_the_providers_refusal_is_kept_on_the_message(tencent):  # noqa: F811
    refused = {"Response": {"SendStatusSet": [{"Code": "LimitExceeded.PhoneNumberDailyLimit"}]}}
    tencent.replies.append(Answer(200, json.dumps(refused).encode()))
    member = MemberFactory(marketing_consent=True)

    message = text_to(member, body="{name}", sms_template_id="2041")

    assert (message.status, message.reason, message.error, message.attempts) == (
        "queued",
        "provider",
        "LimitExceeded.PhoneNumberDailyLimit",
        1,
    )


def test_a_text_without_an_approved_template_is_not_sent(tencent):  # noqa: F811
    member = MemberFactory(marketing_consent=True)

    message = text_to(member, body="{name}", sms_template_id="")

    assert tencent.received == []
    assert (message.reason, message.error) == ("provider", "no approved template id")

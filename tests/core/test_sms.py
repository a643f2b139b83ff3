"""Text messages through Tencent Cloud SMS (apps.core.sms.TencentSmsBackend), against a
local fake of its API: the code goes as a template parameter, failures are logged with the
masked number, and no log line ever holds a code or a whole number."""

import json
import logging

import pytest

from apps.core.errors import Throttled
from apps.core.sms import (
    SmsMaybeSent,
    SmsNotSent,
    SmsUnavailable,
    TencentSmsBackend,
    sms_send_now,
)
from apps.members.credentials import member_otp_send, sms_code_send
from apps.members.models import MemberOtp, SmsCode
from tests.fake_http import Answer, fake_server
from tests.members.factories import MemberFactory
from tests.stores.factories import StoreFactory

pytestmark = pytest.mark.django_db

PHONE = "13800138000"
CODE = "482915"
SENT = {
    "Response": {
        "SendStatusSet": [
            {
                "SerialNo": "5000:1045710669157053657849499619",
                "PhoneNumber": f"+86{PHONE}",
                "Fee": 1,
                "SessionContext": "",
                "Code": "Ok",
                "Message": "send success",
                "IsoCode": "CN",
            }
        ],
        "RequestId": "a0aabda6-cf91-4f3e-a81f-9198114a2279",
    }
}


@pytest.fixture
def tencent(settings):
    """The fake Tencent Cloud SMS API; `tencent.reply` is its next answer."""
    replies = []

    def answer(request):
        return replies.pop(0) if replies else Answer(200, json.dumps(SENT).encode())

    with fake_server(answer) as server:
        settings.SMS_BACKEND = "apps.core.sms.TencentSmsBackend"
        settings.TENCENT_SMS_ENDPOINT = server.url
        settings.TENCENTCLOUD_SECRET_ID = "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE"
        settings.TENCENTCLOUD_SECRET_KEY = "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE"
        settings.TENCENT_SMS_APP_ID = "1400006666"
        settings.SMS_SIGN_NAME = "会籍优选"
        settings.SMS_TEMPLATE_ID = "449739"
        settings.SMS_TEMPLATE_PARAMS = ["code", "minutes"]
        settings.SMS_TILL_TEMPLATE_ID = "449740"
        settings.SMS_TILL_TEMPLATE_PARAMS = ["store", "code"]
        server.replies = replies
        yield server


@pytest.fixture
def logs(caplog):
    caplog.set_level(logging.DEBUG)
    return caplog


def send(**params) -> bool:
    """Whether the message went."""
    try:
        sms_send_now(phone=PHONE, message=f"您的验证码是 {CODE}", template="sign_in", params=params)
    except SmsUnavailable:
        return False
    return True


def nothing_secret_in(logs) -> bool:
    text = "\n".join(f"{record.getMessage()} {record.exc_text or ''}" for record in logs.records)
    return CODE not in text and PHONE not in text


def test_the_code_goes_as_a_template_parameter(tencent, logs):
    assert send(code=CODE, minutes="5")

    [request] = tencent.received
    assert request.method == "POST" and request.headers["x-tc-action"] == "SendSms"
    assert request.headers["x-tc-version"] == "2021-01-11"
    assert request.headers["x-tc-region"] == "ap-guangzhou"
    assert request.headers["authorization"].startswith(
        "TC3-HMAC-SHA256 Credential=AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE/"
    )
    assert request.json() == {
        "PhoneNumberSet": [f"+86{PHONE}"],
        "SmsSdkAppId": "1400006666",
        "SignName": "会籍优选",
        "TemplateId": "449739",
        "TemplateParamSet": [CODE, "5"],
    }
    assert nothing_secret_in(logs)


ERRORS = {
    "the API refuses": (
        Answer(
            200,
            json.dumps(
                {
                    "Response": {
                        "Error": {
                            "Code": "AuthFailure.SignatureFailure",
                            "Message": f"The provided credentials could not be validated {CODE}",
                        },
                        "RequestId": "r-1",
                    }
                }
            ).encode(),
        ),
        "AuthFailure.SignatureFailure (request r-1)",
    ),
    "the number is refused": (
        Answer(
            200,
            json.dumps(
                {
                    "Response": {
                        "SendStatusSet": [
                            {
                                **SENT["Response"]["SendStatusSet"][0],
                                "Code": "LimitExceeded.PhoneNumberDailyLimit",
                                "Message": f"{PHONE} 已达到日下发条数上限",
                            }
                        ],
                        "RequestId": "r-2",
                    }
                }
            ).encode(),
        ),
        "LimitExceeded.PhoneNumberDailyLimit",
    ),
    "not JSON": (Answer(502, b"<html>Bad Gateway</html>"), "ServerNetworkError"),
}


@pytest.mark.parametrize("case", ERRORS)
def test_a_failure_is_logged_with_the_masked_number_and_no_code(case, tencent, logs):
    reply, reason = ERRORS[case]
    tencent.replies.append(reply)

    assert not send(code=CODE, minutes="5")

    [failure] = [r for r in logs.records if r.name == "apps.core.sms"]
    assert failure.levelno == logging.ERROR
    assert failure.getMessage() == f"SMS to 138****8000 not sent: {reason}"
    assert nothing_secret_in(logs)


def test_an_unreachable_provider_is_logged_by_name_only(tencent, logs, settings):
    settings.TENCENT_SMS_ENDPOINT = "http://127.0.0.1:9"  # nothing listens on the discard port

    assert not send(code=CODE, minutes="5")

    [failure] = [r for r in logs.records if r.name == "apps.core.sms"]
    assert failure.getMessage().startswith("SMS to 138****8000 not sent: ClientNetworkError")
    assert nothing_secret_in(logs)


def test_a_message_without_its_template_parameters_is_not_sent(tencent, logs):
    assert not send(code=CODE)

    assert tencent.received == []
    [failure] = [r for r in logs.records if r.name == "apps.core.sms"]
    assert failure.getMessage() == "SMS to 138****8000 not sent: no template parameter minutes"


def test_a_sign_in_code_goes_in_its_template(tencent, logs, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        sms_code_send(phone=PHONE, ip="203.0.113.7")

    [request] = tencent.received
    template, [code, minutes] = request.json()["TemplateId"], request.json()["TemplateParamSet"]
    assert (template, minutes) == ("449739", "5")
    assert code.isdigit() and len(code) == 6
    assert SmsCode.objects.get(phone=PHONE).code_hash != code
    assert code not in "\n".join(record.getMessage() for record in logs.records)


def test_a_code_a_till_asks_for_goes_in_its_own_template_while_the_till_waits(tencent):
    store = StoreFactory(name="上海恒隆店")
    member = MemberFactory(phone=PHONE)

    member_otp_send(member=member, store=store)  # sent at once, not after a commit

    [request] = tencent.received
    assert request.json()["TemplateId"] == "449740"
    store_name, code = request.json()["TemplateParamSet"]
    assert store_name == "上海恒隆店" and code.isdigit() and len(code) == 6


def test_a_till_code_the_provider_did_not_send_is_not_kept_and_may_be_asked_again_at_once(
    tencent,
):
    """Neither lost unnoticed (the till is told, 503) nor texted twice (no one sends it
    later): the till asks again, and the member gets one code that works."""
    store = StoreFactory()
    member = MemberFactory(phone=PHONE)
    tencent.replies.append(Answer(500, b"<html>busy</html>"))

    with pytest.raises(SmsUnavailable):
        member_otp_send(member=member, store=store)
    assert not MemberOtp.objects.exists()

    member_otp_send(member=member, store=store)

    assert len(tencent.received) == 2 and MemberOtp.objects.count() == 1


def test_a_message_of_no_known_kind_is_refused_at_once():
    with pytest.raises(ValueError):
        sms_send_now(phone=PHONE, message="…", template="campaign")


@pytest.mark.parametrize("case", ERRORS)
def test_only_an_error_about_the_number_is_the_provider_answering(case, tencent):
    """A number's own status (over its daily limit) is Tencent up and sending to others:
    the outbox does not count it towards the provider being down; a refusal of every
    message (credentials) or no answer does."""
    tencent.replies.append(ERRORS[case][0])

    with pytest.raises(SmsNotSent) as failed:
        TencentSmsBackend().send(PHONE, "", {"code": CODE, "minutes": "5"}, "sign_in")

    assert failed.value.answered == (case == "the number is refused")


def test_h29_a_till_code_that_may_have_gone_is_kept_and_counted(tencent, settings):
    """Tencent took the request and did not answer in time: the text may be on its way.
    The till is told (503), but the code stays usable and the gap holds, so a slow provider
    never lets a till text more codes than its caps allow."""
    settings.SMS_TIMEOUT_SECONDS = 1
    store = StoreFactory()
    member = MemberFactory(phone=PHONE)
    tencent.replies.append(Answer(200, json.dumps(SENT).encode(), delay=3))

    with pytest.raises(SmsMaybeSent):
        member_otp_send(member=member, store=store)
    assert MemberOtp.objects.count() == 1

    with pytest.raises(Throttled):
        member_otp_send(member=member, store=store)
    assert len(tencent.received) == 1

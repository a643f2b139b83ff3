"""Text messages go through one backend, chosen by SMS_BACKEND.

`sms_send_now(phone=..., message=..., template=..., params=...)` sends at once, outside the
transaction that keeps what the message tells (commit that first), and raises
SmsUnavailable (503, Retry-After) when the provider refused, failed or did not answer within
SMS_TIMEOUT_SECONDS: the request that asked for a code says whether it went, and a code not
sent can be taken back, so none is lost unnoticed or texted twice. No answer once the
provider had the request (SmsMaybeSent, also 503) is a text that may have gone: such a code
is kept, and counted. `message` is the whole
text, which the console backend prints; a provider that sends only approved templates, as
Chinese carriers require (Tencent Cloud SMS), sends the approved template of that kind
(TEMPLATES: a sign-in code, a code a till asks the member for) filled with `params` instead,
in the order its settings name them: a sign-in code goes as `template="sign_in",
params={"code": code}`. Messages HQ wrote itself go through the outbox (apps.marketing),
which names its approved template as an `ApprovedTemplate` instead of a kind.

No backend but the console one writes a message, a code or a whole phone number to a log:
the console backend is the demo's gateway, a stand-in that a production site refuses to
start with (apps/core/checks.py). A failure to send is logged with the masked number and
the provider's error code only.
"""

import logging
import sys
from datetime import UTC, datetime
from typing import NamedTuple
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import requests
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string
from django.utils.translation import gettext_lazy as _
from tencentcloud.common.credential import Credential
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.sms.v20210111.models import PullSmsSendStatusRequest, SendSmsRequest
from tencentcloud.sms.v20210111.sms_client import SmsClient

from apps.core.errors import DomainError
from apps.core.outages import RETRY_AFTER_SECONDS
from apps.core.phones import mask_phone

logger = logging.getLogger(__name__)


class SmsNotSent(Exception):
    """The provider refused a message; `reason` is its error code, safe to log; `answered`:
    the provider answered that error about this message's number (it is up and sends to
    other numbers), rather than failing, or refusing every message (its credentials);
    `interrupted`: no answer came once the request had gone, so the text may have gone."""

    def __init__(self, reason: str, *, answered: bool = False, interrupted: bool = False):
        super().__init__(reason)
        self.reason = reason
        self.answered = answered
        self.interrupted = interrupted


class SmsUnavailable(DomainError):
    code = "sms_unavailable"
    status = 503
    default_message = _("Text messages cannot be sent just now. Please try again in a moment.")
    retry_after = RETRY_AFTER_SECONDS


class SmsMaybeSent(SmsUnavailable):
    """No answer came once the provider had the message: it may have gone, or may not."""


class ConsoleSmsBackend:
    """Prints the message where whoever runs the server can read it: the demo's gateway."""

    stand_in = True

    def send(self, phone: str, message: str, params: dict[str, str], template: str) -> None:
        sys.stdout.write(f"[SMS to {phone}] {message}\n")
        sys.stdout.flush()


class LocmemSmsBackend:
    """Keeps (phone, message) pairs in `outbox`, for tests."""

    stand_in = True
    outbox: list[tuple[str, str]] = []

    def send(self, phone: str, message: str, params: dict[str, str], template: str) -> None:
        self.outbox.append((phone, message))


# Each kind of message Huiji texts: the settings naming its approved template's id and its
# parameters {1}, {2}… in order.
TEMPLATES = {
    "sign_in": ("SMS_TEMPLATE_ID", "SMS_TEMPLATE_PARAMS"),
    "till_code": ("SMS_TILL_TEMPLATE_ID", "SMS_TILL_TEMPLATE_PARAMS"),
}


class ApprovedTemplate(NamedTuple):
    """A provider's approved template named by the message itself rather than by a setting:
    its id, and the names of its parameters {1}, {2}… in order."""

    template_id: str
    params: tuple[str, ...]


class SmsReceipt(NamedTuple):
    """A provider's delivery receipt for one text: the id its sending answered, whether it
    reached the phone, the provider's reason when it did not, and when it reported."""

    provider_id: str
    delivered: bool
    error: str
    reported_at: datetime


TENCENT_TIME_ZONE = ZoneInfo("Asia/Shanghai")  # the callback's times, written without one
# The fields of a callback report Huiji needs, each a string, and the most a provider's
# id of a message may hold (DeliveryReceipt.provider_id, Message.provider_id).
REPORT_FIELDS = ("sid", "report_status", "user_receive_time")
REPORT_WORDS = ("errmsg", "description")  # or absent, or null
PROVIDER_ID_LENGTH = 64

TENCENT_SETTINGS = (
    "TENCENTCLOUD_SECRET_ID",
    "TENCENTCLOUD_SECRET_KEY",
    "TENCENT_SMS_APP_ID",
    "SMS_SIGN_NAME",
    *(template_id for template_id, _params in TEMPLATES.values()),
)


class TencentSmsBackend:
    """Tencent Cloud SMS (腾讯云短信) SendSms, API 2021-01-11, through its Python SDK: the
    message's template (TEMPLATES) under the signature SMS_SIGN_NAME, for SMS application
    TENCENT_SMS_APP_ID, at TENCENT_SMS_ENDPOINT in TENCENT_SMS_REGION."""

    stand_in = False

    def __init__(self):
        if problems := self.configuration_problems():
            raise ImproperlyConfigured("; ".join(problems))
        endpoint = urlsplit(settings.TENCENT_SMS_ENDPOINT)
        http = HttpProfile(
            protocol=endpoint.scheme,
            endpoint=endpoint.netloc,
            reqTimeout=settings.SMS_TIMEOUT_SECONDS,
        )
        self._client = SmsClient(
            Credential(settings.TENCENTCLOUD_SECRET_ID, settings.TENCENTCLOUD_SECRET_KEY),
            settings.TENCENT_SMS_REGION,
            ClientProfile(httpProfile=http),
        )

    @classmethod
    def configuration_problems(cls) -> list[str]:
        missing = [name for name in TENCENT_SETTINGS if not getattr(settings, name, "")]
        return [f"Tencent Cloud SMS needs {', '.join(missing)}."] if missing else []

    def send(
        self, phone: str, message: str, params: dict[str, str], template: str | ApprovedTemplate
    ) -> str:
        """Send, and answer the message's serial number (SerialNo), which its delivery
        receipt names."""
        if isinstance(template, ApprovedTemplate):
            template_id, names = template
        else:
            template_id, names = (getattr(settings, name) for name in TEMPLATES[template])
        if not template_id:
            raise SmsNotSent("no approved template id")
        missing = [name for name in names if name not in params]
        if missing:
            raise SmsNotSent(f"no template parameter {', '.join(missing)}")
        request = SendSmsRequest()
        request.PhoneNumberSet = [f"+86{phone}"]
        request.SmsSdkAppId = settings.TENCENT_SMS_APP_ID
        request.SignName = settings.SMS_SIGN_NAME
        request.TemplateId = template_id
        request.TemplateParamSet = [str(params[name]) for name in names]
        try:
            answer = self._client.SendSms(request)
        except TencentCloudSDKException as exc:
            if isinstance(exc.__context__, requests.ReadTimeout):
                raise SmsNotSent("timeout", interrupted=True) from None
            # Its text may quote the request; its code and request id do not.
            request_id = exc.get_request_id()
            raise SmsNotSent(
                f"{exc.get_code()} (request {request_id})" if request_id else exc.get_code()
            ) from None
        status = answer.SendStatusSet[0] if answer.SendStatusSet else None
        if status is None or status.Code != "Ok":
            # the number's own status (a number on a blocklist, over its daily limit)
            raise SmsNotSent(status.Code if status else "no send status", answered=True)
        return status.SerialNo or ""

    PULL_LIMIT = 100  # the most receipts PullSmsSendStatus answers at once

    @staticmethod
    def callback_receipts(payload) -> list[SmsReceipt]:
        """The receipts of Tencent Cloud SMS's status callback (短信下发状态回调), a JSON
        list of reports: sid (the SerialNo), report_status SUCCESS or FAIL, errmsg (a
        status code such as DELIVRD) and description, user_receive_time in Beijing time,
        each a string, the sid at most PROVIDER_ID_LENGTH long. ValueError when it is not
        that."""
        if not isinstance(payload, list):
            raise ValueError("not a list of reports")
        receipts = []
        for report in payload:
            if (
                not isinstance(report, dict)
                or not all(isinstance(report.get(field), str) for field in REPORT_FIELDS)
                or not all(isinstance(report.get(field), str | None) for field in REPORT_WORDS)
            ):
                raise ValueError("not a report")
            try:
                sid, status = report["sid"], report["report_status"]
                received = datetime.strptime(report["user_receive_time"], "%Y-%m-%d %H:%M:%S")
            except KeyError as exc:  # not a time
                raise ValueError("not a report") from exc
            if not 0 < len(sid) <= PROVIDER_ID_LENGTH or status not in ("SUCCESS", "FAIL"):
                raise ValueError("not a report")
            receipts.append(
                SmsReceipt(
                    provider_id=sid,
                    delivered=status == "SUCCESS",
                    error=_reason(report.get("errmsg"), report.get("description")),
                    reported_at=received.replace(tzinfo=TENCENT_TIME_ZONE),
                )
            )
        return receipts

    def receipts_pull(self) -> list[SmsReceipt]:
        """The receipts Tencent Cloud holds for Huiji, up to PULL_LIMIT (PullSmsSendStatus;
        Tencent gives each once, and only to a site without a status callback)."""
        request = PullSmsSendStatusRequest()
        request.SmsSdkAppId = settings.TENCENT_SMS_APP_ID
        request.Limit = self.PULL_LIMIT
        try:
            answer = self._client.PullSmsSendStatus(request)
        except TencentCloudSDKException as exc:
            raise SmsNotSent(exc.get_code()) from None
        return [
            SmsReceipt(
                provider_id=status.SerialNo,
                delivered=status.ReportStatus == "SUCCESS",
                error=_reason(None, status.Description),
                reported_at=datetime.fromtimestamp(status.UserReceiveTime, tz=UTC),
            )
            for status in answer.PullSmsSendStatusSet or []
            if status.SerialNo
        ]


def _reason(code, description) -> str:
    """A receipt's reason as kept: the status code and the provider's words, never the
    number (Tencent's descriptions do not quote it)."""
    return " ".join(str(part) for part in (code, description) if part)[:200]


def sms_backend():
    return import_string(settings.SMS_BACKEND)()


def sms_send_now(
    *, phone: str, message: str, template: str, params: dict[str, str] | None = None
) -> None:
    """Send at once; SmsUnavailable when it did not go, SmsMaybeSent (a SmsUnavailable) when
    the provider had it but did not answer in time. A failure is logged."""
    if template not in TEMPLATES:
        raise ValueError(f"no SMS template kind {template!r}")
    try:
        sms_backend().send(phone, message, params or {}, template)
    except SmsNotSent as exc:
        logger.error("SMS to %s not sent: %s", mask_phone(phone), exc.reason)
        raise (SmsMaybeSent if exc.interrupted else SmsUnavailable)() from None
    # Whatever else went wrong (a network error, a provider's library raising its own) is
    # logged by name only: its text could hold the message.
    except Exception as exc:
        logger.error("SMS to %s not sent: %s", mask_phone(phone), type(exc).__name__)
        raise SmsUnavailable() from None

"""Delivery receipts of texts: the provider's id of each text sent is kept on its message,
and Tencent Cloud SMS's status callback (behind a secret address) or a pull job marks the
message delivered or not, once."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.utils import timezone

from apps.marketing.models import DeliveryReceipt, Message
from apps.marketing.outbox import messages_queue, messages_send_due
from apps.marketing.receipts import receipts_apply, receipts_pull, receipts_purge
from tests.core.test_sms import SENT, tencent  # noqa: F401  (the fake Tencent Cloud SMS API)
from tests.fake_http import Answer
from tests.marketing.factories import MessageTemplateFactory
from tests.members.factories import MemberFactory

pytestmark = pytest.mark.django_db

TOKEN = "b7c1e0f4a9d24e6c8f3a5b2d1e0c9f8a7b6c5d4e3f2a1b0c"
SERIAL = SENT["Response"]["SendStatusSet"][0]["SerialNo"]
URL = f"/api/v1/sms/receipts/{TOKEN}"


@pytest.fixture
def receipts(settings, tencent):  # noqa: F811
    settings.SMS_RECEIPT_TOKEN = TOKEN
    return tencent


def report(sid=SERIAL, status="SUCCESS", errmsg="DELIVRD", description="用户短信送达成功"):
    return {
        "user_receive_time": "2026-12-04 10:03:04",
        "nationcode": "86",
        "mobile": "13800138000",
        "report_status": status,
        "errmsg": errmsg,
        "description": description,
        "sid": sid,
    }


def text_sent() -> Message:
    member = MemberFactory(phone="13800138000", marketing_consent=True)
    messages_queue(
        template=MessageTemplateFactory(channel="sms", body="{name}", sms_template_id="2041"),
        member_ids=[member.pk],
        cause_kind="t",
        cause_id=1,
    )
    messages_send_due(now=timezone.now() + timedelta(seconds=1))
    return Message.objects.get(member=member)


def post(api_client, reports, url=URL):
    return api_client.post(url, json.dumps(reports), content_type="application/json")


def test_a_text_keeps_the_providers_serial_number(receipts):
    message = text_sent()

    assert (message.status, message.provider_id, message.delivery) == ("sent", SERIAL, "")


def test_a_receipt_marks_its_text_delivered_and_the_same_receipt_again_changes_nothing(
    receipts, api_client
):
    message = text_sent()

    response = post(api_client, [report()])

    assert response.status_code == 200
    assert response.json() == {"result": 0, "errmsg": "OK"}
    message.refresh_from_db()
    reported = datetime(2026, 12, 4, 2, 3, 4, tzinfo=UTC)  # 10:03:04 in Beijing
    assert (message.delivery, message.delivered_at, message.error) == ("delivered", reported, "")

    again = post(api_client, [report(), report(status="FAIL", errmsg="MK:0001")])

    assert again.status_code == 200
    message.refresh_from_db()
    assert (message.delivery, message.delivered_at) == ("delivered", reported)
    assert DeliveryReceipt.objects.count() == 1


def test_a_failed_receipt_keeps_the_providers_reason(receipts, api_client):
    message = text_sent()

    post(api_client, [report(status="FAIL", errmsg="MK:0012", description="空号")])

    message.refresh_from_db()
    assert (message.status, message.delivery, message.error) == (
        "sent",
        "undelivered",
        "MK:0012 空号",
    )


def test_a_receipt_that_comes_before_its_text_is_recorded_waits_for_it(receipts, api_client):
    post(api_client, [report()])

    message = text_sent()

    assert message.delivery == "delivered"


@pytest.mark.parametrize(
    "url",
    [
        f"/api/v1/sms/receipts/{TOKEN[:-1]}x",
        f"/api/v1/sms/receipts/{TOKEN[:-1]}",
        "/api/v1/sms/receipts/guess",
    ],
)
def test_a_callback_at_any_other_address_is_not_found_and_changes_nothing(
    receipts, api_client, url
):
    message = text_sent()

    response = post(api_client, [report()], url=url)

    assert response.status_code == 404
    message.refresh_from_db()
    assert message.delivery == ""
    assert not DeliveryReceipt.objects.exists()


def test_without_a_token_or_with_a_provider_that_sends_none_there_is_no_callback(
    receipts, api_client, settings
):
    text_sent()
    settings.SMS_RECEIPT_TOKEN = ""
    assert post(api_client, [report()]).status_code == 404

    settings.SMS_RECEIPT_TOKEN = TOKEN
    settings.SMS_BACKEND = "apps.core.sms.ConsoleSmsBackend"
    assert post(api_client, [report()]).status_code == 404
    assert not DeliveryReceipt.objects.exists()


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b'{"sid": "1"}',
        b'[{"sid": "1"}]',
        json.dumps([report(status="LOST")]).encode(),
        json.dumps([{**report(), "user_receive_time": 1796263384}]).encode(),
        json.dumps([report(sid=1)]).encode(),
        json.dumps([report(description=["空号"])]).encode(),
        b"[" * 100_000 + b"]" * 100_000,
    ],
    ids=[
        "not JSON",
        "not a list",
        "not a report",
        "unknown status",
        "time not a string",
        "sid not a string",
        "reason not a string",
        "nested too deep",
    ],
)
def test_what_is_not_a_list_of_reports_is_refused_and_kept_nowhere(receipts, api_client, body):
    response = api_client.post(URL, body, content_type="application/json")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert not DeliveryReceipt.objects.exists()


def pulled(*statuses):
    return Answer(
        200,
        json.dumps(
            {"Response": {"PullSmsSendStatusSet": list(statuses), "RequestId": "r-pull"}}
        ).encode(),
    )


def test_the_pull_job_asks_tencent_for_receipts_when_turned_on(receipts, settings):
    message = text_sent()
    status = {
        "UserReceiveTime": 1796263384,
        "CountryCode": "86",
        "SubscriberNumber": "13800138000",
        "PhoneNumber": "+8613800138000",
        "SerialNo": SERIAL,
        "ReportStatus": "FAIL",
        "Description": "用户关机",
        "SessionContext": "",
    }
    assert receipts_pull() == 0  # off: nothing asked
    settings.SMS_RECEIPTS_PULL = True
    receipts.replies.append(pulled(status))

    assert receipts_pull() == 1

    asked = receipts.received[-1]
    assert asked.headers["x-tc-action"] == "PullSmsSendStatus"
    assert asked.json() == {"SmsSdkAppId": "1400006666", "Limit": 100}
    message.refresh_from_db()
    assert (message.delivery, message.error) == ("undelivered", "用户关机")
    assert message.delivered_at == datetime.fromtimestamp(1796263384, tz=UTC)


def test_h27_a_report_the_schema_does_not_fit_is_400_never_500(receipts, api_client):
    """Review h27: a sid longer than the column (64) or a time that is not a string is a
    database error, 500 (the path, with the token, logged by django.request); Tencent
    then retries the whole batch, every valid receipt in it included."""
    too_long = post(api_client, [report(), report(sid="9" * 65)])
    assert too_long.status_code == 400
    assert DeliveryReceipt.objects.count() == 0


def test_h29_a_receipt_is_given_to_a_text_only(receipts):
    """A WeChat message's id that happens to be a receipt's sid takes nothing."""
    message = text_sent()
    Message.objects.filter(pk=message.pk).update(channel="wechat")
    DeliveryReceipt.objects.create(provider_id=SERIAL, delivered=True, reported_at=timezone.now())

    assert receipts_apply(provider_ids=[SERIAL]) == 0


def test_h29_receipts_are_forgotten_after_a_week(receipts, api_client):
    post(api_client, [report(sid="old"), report(sid="new")])
    DeliveryReceipt.objects.filter(provider_id="old").update(
        received_at=timezone.now() - timedelta(days=7, seconds=1)
    )

    assert receipts_purge() == 1
    assert receipts_purge() == 0
    assert list(DeliveryReceipt.objects.values_list("provider_id", flat=True)) == ["new"]


def test_h29_a_text_tencent_had_and_did_not_answer_is_never_sent_again(receipts, settings):
    """Review h27: a timeout once the request went may be a text on its way: failed as
    interrupted, never texted twice."""
    settings.SMS_TIMEOUT_SECONDS = 1
    receipts.replies.append(Answer(200, json.dumps(SENT).encode(), delay=3))

    message = text_sent()
    messages_send_due(now=timezone.now() + timedelta(days=1))

    assert len(receipts.received) == 1
    assert (message.status, message.reason, message.error) == ("failed", "interrupted", "timeout")


def test_the_purge_finds_the_oldest_receipts_by_an_index():
    """Kept for days, a brand's receipts run to millions: no batch of the purge reads them
    all to find its thousand."""
    old = DeliveryReceipt.objects.filter(received_at__lt=timezone.now()).values("pk")[:1000]
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # as on a table of millions
    plan = DeliveryReceipt.objects.filter(pk__in=old).explain()

    assert "Index Cond: (received_at <" in plan, plan

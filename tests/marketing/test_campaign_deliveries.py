"""What became of a campaign's messages, by channel: queued, held for quiet hours, capped,
refused, sent, delivered, failed; counted in one query, shown in the console and the CSV."""

import pytest

from apps.marketing.campaigns import campaign_run
from apps.marketing.models import CampaignOccurrence, Message
from apps.marketing.outbox import messages_queue
from apps.marketing.report import campaign_deliveries, campaign_report, report_csv
from tests.marketing.factories import MessageTemplateFactory
from tests.marketing.test_campaigns import NOW, make_campaign
from tests.members.factories import MemberFactory

pytestmark = pytest.mark.django_db

ZERO = dict.fromkeys(("queued", "held", "capped", "refused", "sent", "delivered", "failed"), 0)
# Each member's message ends as: (channel, status, reason, delivery).
OUTCOMES = [
    ("sms", "sent", "", "delivered"),
    ("sms", "sent", "", "delivered"),
    ("sms", "sent", "", "undelivered"),
    ("sms", "sent", "", ""),
    ("sms", "queued", "quiet_hours", ""),
    ("sms", "queued", "provider", ""),
    ("sms", "sending", "", ""),
    ("sms", "refused", "cap_day", ""),
    ("sms", "refused", "cap_channel_week", ""),
    ("sms", "refused", "no_consent", ""),
    ("sms", "failed", "provider", ""),
    ("wechat", "refused", "no_subscription", ""),
    ("wechat", "sent", "", ""),
    ("inbox", "sent", "", ""),
]


def campaign_with_messages():
    campaign = make_campaign()
    occurrences = [
        CampaignOccurrence.objects.create(campaign=campaign, key=key) for key in ("d1", "d2")
    ]
    templates = {
        "sms": MessageTemplateFactory(channel="sms", sms_template_id="1"),
        "wechat": MessageTemplateFactory(
            channel="wechat", wechat_template_id="T", wechat_fields="thing1: {name}"
        ),
        "inbox": MessageTemplateFactory(),
    }
    for index, (channel, status, reason, delivery) in enumerate(OUTCOMES):
        member = MemberFactory(marketing_consent=True)
        occurrence = occurrences[index % 2]
        messages_queue(
            template=templates[channel],
            member_ids=[member.pk],
            cause_kind="campaign",
            cause_id=occurrence.pk,
        )
        Message.objects.filter(member=member).update(
            status=status, reason=reason, delivery=delivery
        )
    # Not this campaign's: another campaign's occurrence, and another cause with the same id.
    other = CampaignOccurrence.objects.create(campaign=make_campaign(), key="x")
    stranger = MemberFactory(marketing_consent=True)
    for cause_kind, cause_id in (("campaign", other.pk), ("referral", occurrences[0].pk)):
        messages_queue(
            template=templates["sms"],
            member_ids=[stranger.pk],
            cause_kind=cause_kind,
            cause_id=cause_id,
        )
    return campaign


def test_each_channels_messages_are_counted_by_what_became_of_them(
    django_assert_num_queries,
):
    campaign = campaign_with_messages()

    with django_assert_num_queries(1):
        figures = campaign_deliveries(campaign)

    assert figures == {
        "sms": {
            "queued": 2,
            "held": 1,
            "capped": 2,
            "refused": 1,
            "sent": 4,
            "delivered": 2,
            "failed": 2,
        },
        "wechat": {**ZERO, "refused": 1, "sent": 1},
        "inbox": {**ZERO, "sent": 1},
    }


def test_a_campaign_with_no_messages_has_every_figure_zero():
    assert campaign_deliveries(make_campaign()) == {
        "sms": ZERO,
        "wechat": ZERO,
        "inbox": ZERO,
    }


def test_a_campaigns_own_run_is_counted(settings):
    template = MessageTemplateFactory(channel="sms", sms_template_id="1")
    consenting = [MemberFactory(marketing_consent=True) for _ in range(2)]
    MemberFactory(marketing_consent=False)
    campaign = make_campaign({"kind": "message", "message_template": template})

    campaign_run(campaign_id=campaign.pk, now=NOW)

    sms = campaign_deliveries(campaign)["sms"]
    assert (sms["queued"] + sms["sent"], sms["refused"]) == (len(consenting), 1)


def test_the_csv_and_the_console_show_the_figures(hq_client):
    campaign = campaign_with_messages()

    rows = dict(line.split(",")[:2] for line in report_csv(campaign_report(campaign)).splitlines())
    page = hq_client.get(
        f"/admin/marketing/campaign/{campaign.pk}/change/", HTTP_ACCEPT_LANGUAGE="zh-hans"
    ).content.decode()
    download = hq_client.get(f"/admin/marketing/campaign/{campaign.pk}/report.csv")

    assert (rows["messages_sms_sent"], rows["messages_sms_delivered"]) == ("4", "2")
    assert (rows["messages_sms_capped"], rows["messages_wechat_refused"]) == ("2", "1")
    assert "messages_sms_failed,2," in download.content.decode()
    assert "campaign-deliveries" in page
    assert "已送达" in page and "超出频次上限" in page
    assert (
        "<th>短信</th><td>2</td><td>1</td><td>2</td><td>1</td><td>4</td><td>2</td><td>2</td>"
        in page
    )


def test_the_outbox_page_shows_each_messages_delivery(hq_client):
    campaign_with_messages()

    page = hq_client.get(
        "/admin/marketing/message/?delivery=undelivered", HTTP_ACCEPT_LANGUAGE="zh-hans"
    ).content.decode()

    assert "未送达" in page

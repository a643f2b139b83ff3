"""GET me/messages, POST me/messages/{id}/read, PUT me/subscriptions."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.marketing.models import Message, WechatSubscription
from apps.marketing.outbox import messages_queue, messages_send_due
from tests.marketing.factories import MessageTemplateFactory
from tests.members.factories import MemberFactory, member_client

pytestmark = pytest.mark.django_db


def inbox_messages(member, count: int, **template):
    template = MessageTemplateFactory(**template)
    for cause in range(count):
        messages_queue(template=template, member_ids=[member.pk], cause_kind="t", cause_id=cause)
    messages_send_due(now=timezone.now() + timedelta(seconds=1))
    return list(Message.objects.filter(member=member, template=template).order_by("pk"))


def test_the_inbox_lists_my_sent_inbox_messages_newest_first(api_client):
    me = MemberFactory(name="王小明", marketing_consent=True)
    other = MemberFactory(marketing_consent=True)
    first, second = inbox_messages(me, 2, title="{name}您好", body="正文", link="/m/coupons")
    inbox_messages(other, 1)
    messages_queue(
        template=MessageTemplateFactory(channel="sms", sms_template_id="1"),
        member_ids=[me.pk],
        cause_kind="t",
        cause_id=1,
    )  # a text is not in the inbox

    page = member_client(api_client, me).get("/api/v1/me/messages").json()

    assert page["count"] == 2
    assert page["results"][0] == {
        "id": second.pk,
        "title": "王小明您好",
        "body": "正文",
        "link": "/m/coupons",
        "created_at": timezone.localtime(second.sent_at).isoformat(),
        "read": False,
    }
    assert [m["id"] for m in page["results"]] == [second.pk, first.pk]


def test_the_inbox_costs_the_same_queries_for_one_message_or_a_page(
    api_client, django_assert_max_num_queries
):
    me = MemberFactory(marketing_consent=True)
    inbox_messages(me, 1)
    client = member_client(api_client, me)
    with CaptureQueriesContext(connection) as one:
        client.get("/api/v1/me/messages")
    inbox_messages(me, 30)

    with django_assert_max_num_queries(len(one)):
        page = client.get("/api/v1/me/messages?page_size=20").json()

    assert (page["count"], len(page["results"])) == (31, 20)


def test_reading_a_message_marks_it_read_once(api_client):
    me = MemberFactory(marketing_consent=True)
    [message] = inbox_messages(me, 1)
    client = member_client(api_client, me)

    first = client.post(f"/api/v1/me/messages/{message.pk}/read")
    message.refresh_from_db()
    read_at = message.read_at
    again = client.post(f"/api/v1/me/messages/{message.pk}/read")

    assert (first.status_code, again.status_code) == (204, 204)
    message.refresh_from_db()
    assert read_at is not None and message.read_at == read_at
    assert client.get("/api/v1/me/messages").json()["results"][0]["read"] is True


def test_another_members_message_is_not_found_and_stays_unread(api_client):
    me, other = MemberFactory(), MemberFactory(marketing_consent=True)
    [theirs] = inbox_messages(other, 1)

    response = member_client(api_client, me).post(
        f"/api/v1/me/messages/{theirs.pk}/read", HTTP_ACCEPT_LANGUAGE="en"
    )

    assert response.status_code == 404
    assert response.json() == {"code": "not_found", "message": "You have no message with this id."}
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_reading_needs_a_signed_in_member(api_client):
    assert api_client.get("/api/v1/me/messages").status_code == 401
    assert api_client.post("/api/v1/me/messages/1/read").status_code == 401
    assert api_client.put("/api/v1/me/subscriptions", {}, format="json").status_code == 401


def test_accepted_subscriptions_add_up(api_client):
    MessageTemplateFactory(channel="wechat", wechat_template_id="TPL-A")
    MessageTemplateFactory(channel="wechat", wechat_template_id="TPL-B")
    me = MemberFactory()
    client = member_client(api_client, me)

    first = client.put(
        "/api/v1/me/subscriptions", {"templates": {"TPL-A": 1, "TPL-B": 2}}, format="json"
    )
    second = client.put("/api/v1/me/subscriptions", {"templates": {"TPL-A": 1}}, format="json")

    assert (first.status_code, first.json()) == (200, {"templates": {"TPL-A": 1, "TPL-B": 2}})
    assert second.json() == {"templates": {"TPL-A": 2}}


def test_a_replayed_acceptance_adds_nothing(api_client):
    MessageTemplateFactory(channel="wechat", wechat_template_id="TPL-A")
    client = member_client(api_client, MemberFactory())
    body = {"templates": {"TPL-A": 1}}

    first = client.put("/api/v1/me/subscriptions", body, format="json", HTTP_IDEMPOTENCY_KEY="s1")
    again = client.put("/api/v1/me/subscriptions", body, format="json", HTTP_IDEMPOTENCY_KEY="s1")

    assert first.json() == again.json() == {"templates": {"TPL-A": 1}}
    assert WechatSubscription.objects.get().remaining == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"templates": {"TPL-A": 1, "NOPE": 1}}, None),
        ({"templates": {"TPL-OFF": 1}}, None),
        ({"templates": {"TPL-A": 0}}, "templates"),
        ({"templates": {"TPL\u0000A": 1}}, "templates"),
        ({"templates": {"模板": 1}}, "templates"),
        ({"templates": {"TPL-A": 11}}, "templates"),
        ({"templates": {}}, "templates"),
        ({}, "templates"),
    ],
)
def test_unknown_templates_and_wrong_counts_are_refused_and_add_nothing(api_client, body, field):
    MessageTemplateFactory(channel="wechat", wechat_template_id="TPL-A")
    MessageTemplateFactory(channel="wechat", wechat_template_id="TPL-OFF", active=False)
    client = member_client(api_client, MemberFactory())

    response = client.put("/api/v1/me/subscriptions", body, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert (
        (field in response.json().get("fields", {})) if field else "fields" not in response.json()
    )
    assert not WechatSubscription.objects.exists()

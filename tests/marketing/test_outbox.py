"""The outbox: queued once, sent under consent, quiet hours and caps, retried, never twice."""

import time as time_module
from collections import Counter
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.core.sms import LocmemSmsBackend
from apps.marketing import outbox
from apps.marketing.channels import (
    LocmemWechatMessageBackend,
    WechatMessageNotSent,
    message_deliver,
)
from apps.marketing.models import Message, WechatSubscription
from apps.marketing.outbox import messages_queue, messages_send_due
from apps.members.models import MemberIdentity
from apps.members.services import member_delete, member_merge
from apps.points.services import points_earn
from apps.tiers.models import MemberTier, Tier
from tests.conftest import run_together
from tests.marketing.factories import MessageTemplateFactory
from tests.members.factories import MemberFactory
from tests.stores.factories import StoreFactory

pytestmark = pytest.mark.django_db
SHANGHAI = ZoneInfo("Asia/Shanghai")
# Tomorrow at noon: messages queued now are due then.
NOON = datetime.combine(timezone.localdate() + timedelta(days=1), time(12), tzinfo=SHANGHAI)


def consenting(**fields):
    return MemberFactory(marketing_consent=True, **fields)


def statuses(*members):
    return sorted(
        Message.objects.filter(member__in=members).values_list("member_id", "status", "reason")
    )


def queue(template, members, cause_id=1, **values):
    messages_queue(
        template=template,
        member_ids=[member.pk for member in members],
        cause_kind="test",
        cause_id=cause_id,
        values=values,
    )


def test_a_message_is_rendered_for_each_member_and_queued_once():
    store = StoreFactory(name="文三路店")
    gold = Tier.objects.create(code="gold", name="黄金会员", rank=1, growth_threshold=300)
    member = consenting(name="王小明", home_store=store)
    MemberTier.objects.create(member=member, tier=gold)
    points_earn(member=member, amount=5000, cause_kind="admin", description="t", pending=False)
    template = MessageTemplateFactory(body="{tier}专享：{points} 积分，{store}，{coupon}，{link}")

    queue(template, [member], coupon="满100减20")
    queue(template, [member], coupon="满100减20")  # a retried job

    message = Message.objects.get()
    assert (message.title, message.body, message.link) == (
        "王小明，会员日到了",
        "黄金会员专享：5000 积分，文三路店，满100减20，/m/coupons",
        "/m/coupons",
    )
    assert (message.status, message.reason, message.channel, message.marketing) == (
        "queued",
        "",
        "inbox",
        True,
    )


def test_the_same_template_for_another_cause_is_another_message():
    member = consenting()
    template = MessageTemplateFactory()

    queue(template, [member], cause_id=1)
    queue(template, [member], cause_id=2)

    assert Message.objects.count() == 2


def test_marketing_without_consent_is_recorded_refused_and_transactional_goes():
    member = MemberFactory(marketing_consent=False)
    marketing = MessageTemplateFactory()
    notice = MessageTemplateFactory(purpose="transactional", title="取货提醒", body="请到店取货")

    queue(marketing, [member])
    queue(notice, [member])
    messages_send_due(now=NOON)

    assert sorted(Message.objects.values_list("template_id", "status", "reason")) == sorted(
        [(marketing.pk, "refused", "no_consent"), (notice.pk, "sent", "")]
    )


def test_consent_withdrawn_after_queuing_refuses_at_sending():
    member = consenting()
    queue(MessageTemplateFactory(), [member])
    member.marketing_consent = False
    member.save()

    messages_send_due(now=NOON)

    assert statuses(member) == [(member.pk, "refused", "no_consent")]


def test_an_inbox_message_is_sent_into_the_inbox():
    member = consenting()
    queue(MessageTemplateFactory(), [member])

    assert messages_send_due(now=NOON) == 1

    message = Message.objects.get()
    assert (message.status, message.sent_at, message.attempts) == ("sent", NOON, 1)
    assert messages_send_due(now=NOON) == 0


def test_a_text_goes_through_the_sms_backend_with_its_template_parameters():
    member = consenting(name="李雷")
    template = MessageTemplateFactory(
        channel="sms", body="{name}您好，{coupon}已到账", sms_template_id="1234567"
    )
    queue(template, [member], coupon="满100减20")

    messages_send_due(now=NOON)

    assert LocmemSmsBackend.outbox == [(member.phone, "李雷您好，满100减20已到账")]
    assert statuses(member) == [(member.pk, "sent", "")]


def wechat_member(openid="openid-1", subscriptions=1, template_id="TPL-1"):
    member = consenting()
    MemberIdentity.objects.create(member=member, kind="wechat_openid", value=openid)
    if subscriptions:
        WechatSubscription.objects.create(
            member=member, template_id=template_id, remaining=subscriptions
        )
    return member


def test_a_wechat_message_spends_one_subscription_and_never_goes_without_one():
    member = wechat_member(subscriptions=1)
    template = MessageTemplateFactory(channel="wechat", wechat_template_id="TPL-1")
    queue(template, [member], cause_id=1)
    queue(template, [member], cause_id=2)

    messages_send_due(now=NOON)

    [sent] = LocmemWechatMessageBackend.outbox
    assert (sent["openid"], sent["template_id"], sent["page"]) == (
        "openid-1",
        "TPL-1",
        "/m/coupons",
    )
    assert sorted(Message.objects.values_list("cause_id", "status", "reason")) == [
        (1, "sent", ""),
        (2, "refused", "no_subscription"),
    ]
    assert WechatSubscription.objects.get().remaining == 0


def test_with_wechat_messages_off_they_are_refused_as_such_and_spend_nothing(settings):
    member = wechat_member(subscriptions=1)
    template = MessageTemplateFactory(channel="wechat", wechat_template_id="TPL-1")
    queue(template, [member], cause_id=1)
    settings.WECHAT_MESSAGE_BACKEND = ""  # a production site with no real backend yet
    queue(template, [member], cause_id=2)

    messages_send_due(now=NOON)

    assert LocmemWechatMessageBackend.outbox == []
    assert sorted(Message.objects.values_list("cause_id", "status", "reason")) == [
        (1, "refused", "channel_off"),
        (2, "refused", "channel_off"),
    ]
    assert WechatSubscription.objects.get().remaining == 1


def test_a_wechat_message_to_a_member_without_openid_is_refused_and_spends_nothing():
    member = consenting()
    WechatSubscription.objects.create(member=member, template_id="TPL-1", remaining=1)
    queue(MessageTemplateFactory(channel="wechat", wechat_template_id="TPL-1"), [member])

    messages_send_due(now=NOON)

    assert statuses(member) == [(member.pk, "refused", "no_openid")]
    assert WechatSubscription.objects.get().remaining == 1


def test_quiet_hours_hold_pushed_marketing_until_they_end(settings):
    settings.MESSAGE_QUIET_HOURS = "21:00-08:00"
    member = consenting()
    text = MessageTemplateFactory(channel="sms", sms_template_id="1")
    code = MessageTemplateFactory(channel="sms", purpose="transactional", sms_template_id="2")
    inbox = MessageTemplateFactory()
    for template in (text, code, inbox):
        queue(template, [member])
    night = NOON.replace(hour=22, minute=30)
    morning = NOON.replace(hour=8) + timedelta(days=1)

    messages_send_due(now=night)

    held = Message.objects.get(template=text)
    assert (held.status, held.reason, held.due_at) == ("queued", "quiet_hours", morning)
    assert set(Message.objects.exclude(pk=held.pk).values_list("status", flat=True)) == {"sent"}
    assert len(LocmemSmsBackend.outbox) == 1
    assert messages_send_due(now=morning - timedelta(minutes=1)) == 0

    messages_send_due(now=morning)

    held.refresh_from_db()
    assert (held.status, held.reason, held.sent_at) == ("sent", "", morning)
    assert len(LocmemSmsBackend.outbox) == 2


def test_caps_per_channel_and_overall_refuse_with_their_reason(settings):
    settings.MESSAGE_CAPS = "sms=1/2,inbox=0/0,all=2/3"
    member = consenting()
    text = MessageTemplateFactory(channel="sms", sms_template_id="1")
    inbox = MessageTemplateFactory()
    notice = MessageTemplateFactory(purpose="transactional")
    day_one, day_two = NOON, NOON + timedelta(days=1)
    for cause in (1, 2):
        queue(text, [member], cause_id=cause)
        queue(inbox, [member], cause_id=cause)
    queue(inbox, [member], cause_id=3)
    queue(notice, [member])

    messages_send_due(now=day_one)

    assert sorted(Message.objects.values_list("template_id", "cause_id", "status", "reason")) == [
        (text.pk, 1, "sent", ""),
        (text.pk, 2, "refused", "cap_channel_day"),
        (inbox.pk, 1, "sent", ""),
        (inbox.pk, 2, "refused", "cap_day"),
        (inbox.pk, 3, "refused", "cap_day"),
        (notice.pk, 1, "sent", ""),  # transactional: neither capped nor counted
    ]

    queue(text, [member], cause_id=3)
    queue(inbox, [member], cause_id=4)
    queue(inbox, [member], cause_id=5)
    messages_send_due(now=day_two)

    assert sorted(
        Message.objects.filter(cause_id__gt=2)
        .exclude(template=inbox, cause_id=3)
        .values_list("cause_id", "status", "reason")
    ) == [(3, "sent", ""), (4, "refused", "cap_week"), (5, "refused", "cap_week")]


def test_a_failed_text_is_retried_with_backoff_then_fails_with_the_error(settings, monkeypatch):
    settings.MESSAGE_MAX_ATTEMPTS = 3
    settings.MESSAGE_RETRY_SECONDS = 60
    member = consenting()
    queue(MessageTemplateFactory(channel="sms", sms_template_id="1"), [member])
    monkeypatch.setattr(LocmemSmsBackend, "send", refusing_sms)

    messages_send_due(now=NOON)
    message = Message.objects.get()
    assert (message.status, message.reason, message.error, message.attempts) == (
        "queued",
        "provider",
        "LimitExceeded.PhoneNumberDailyLimit",
        1,
    )
    assert message.due_at == NOON + timedelta(seconds=60)
    messages_send_due(now=NOON + timedelta(seconds=59))
    messages_send_due(now=NOON + timedelta(seconds=60))
    message.refresh_from_db()
    assert (message.attempts, message.due_at) == (2, NOON + timedelta(seconds=180))

    messages_send_due(now=NOON + timedelta(seconds=180))

    message.refresh_from_db()
    assert (message.status, message.attempts) == ("failed", 3)
    assert messages_send_due(now=NOON + timedelta(days=1)) == 0


def refusing_sms(self, phone, message, params, template):
    from apps.core.sms import SmsNotSent

    raise SmsNotSent("LimitExceeded.PhoneNumberDailyLimit")


def test_a_wechat_message_that_fails_gives_its_subscription_back(monkeypatch):
    member = wechat_member(subscriptions=1)

    def busy(self, **message):
        raise WechatMessageNotSent("-1")

    monkeypatch.setattr(LocmemWechatMessageBackend, "send", busy)
    queue(MessageTemplateFactory(channel="wechat", wechat_template_id="TPL-1"), [member])

    messages_send_due(now=NOON)

    message = Message.objects.get()
    assert (message.status, message.reason, message.error) == ("queued", "provider", "-1")
    assert message.due_at == NOON + timedelta(seconds=60)
    assert WechatSubscription.objects.get().remaining == 1


def test_a_member_wechat_says_has_no_subscription_is_refused_once_and_never_retried():
    """WeChat's 43101: Huiji's tally said one was left, WeChat says none; the message is
    refused as without a subscription, and the subscription is not given back."""
    refusing = wechat_member(openid="openid-refusing", subscriptions=2)
    LocmemWechatMessageBackend.refusing.add("openid-refusing")
    # More refusals than PROVIDER_DOWN_AFTER in a row: WeChat is up and answering.
    others = [wechat_member(openid=f"o-{n}") for n in range(outbox.PROVIDER_DOWN_AFTER)]
    template = MessageTemplateFactory(channel="wechat", wechat_template_id="TPL-1")
    queue(template, [refusing])
    queue(template, [refusing], cause_id=2)
    queue(template, others)

    messages_send_due(now=NOON)

    assert (
        sorted(Message.objects.filter(member=refusing).values_list("status", "reason", "error"))
        == [("refused", "no_subscription", "43101")] * 2
    )
    assert WechatSubscription.objects.get(member=refusing).remaining == 0
    assert Message.objects.filter(member__in=others, status="sent").count() == len(others)
    assert messages_send_due(now=NOON + timedelta(days=1)) == 0


def test_a_message_left_sending_by_a_dead_run_is_never_sent_again(settings):
    settings.MESSAGE_SEND_LEASE_SECONDS = 600
    member = consenting()
    queue(MessageTemplateFactory(channel="sms", sms_template_id="1"), [member])
    Message.objects.update(status="sending", claimed_at=NOON, sent_at=NOON, attempts=1)

    messages_send_due(now=NOON + timedelta(seconds=599))
    assert statuses(member) == [(member.pk, "sending", "")]

    messages_send_due(now=NOON + timedelta(seconds=601))

    assert statuses(member) == [(member.pk, "failed", "interrupted")]
    assert LocmemSmsBackend.outbox == []


class WorkerKilled(BaseException):
    """What a run sees of kill -9: nothing after this point runs."""


def test_a_run_killed_while_sending_loses_and_doubles_nothing_but_the_message_in_hand(
    settings, monkeypatch
):
    """Killed while the provider had the second of four texts: the first stays sent, the
    second may have gone and is never sent again, the last two go once the lease is over."""
    settings.MESSAGE_SEND_LEASE_SECONDS = 600
    members = [consenting() for _ in range(4)]
    queue(MessageTemplateFactory(channel="sms", sms_template_id="1"), members)
    asked = []

    def deliver_then_die(message):
        asked.append(message.address)
        if len(asked) == 2:
            raise WorkerKilled()
        return message_deliver(message)

    monkeypatch.setattr(outbox, "message_deliver", deliver_then_die)
    with pytest.raises(WorkerKilled):
        messages_send_due(now=NOON)
    assert [status for _pk, status, _reason in statuses(*members)] == [
        "sent",
        "sending",
        "sending",
        "sending",
    ]
    monkeypatch.setattr(outbox, "message_deliver", message_deliver)

    messages_send_due(now=NOON + timedelta(seconds=601))

    assert statuses(*members) == [
        (members[0].pk, "sent", ""),
        (members[1].pk, "failed", "interrupted"),
        (members[2].pk, "sent", ""),
        (members[3].pk, "sent", ""),
    ]
    sent = [phone for phone, _text in LocmemSmsBackend.outbox]
    assert sorted([*sent, members[1].phone]) == sorted(member.phone for member in members)
    assert Message.objects.get(member=members[2]).attempts == 1  # the dead claim is not a try


def test_a_wechat_message_its_run_never_asked_for_gets_its_subscription_back():
    member = wechat_member(subscriptions=1)
    queue(MessageTemplateFactory(channel="wechat", wechat_template_id="TPL-1"), [member])
    Message.objects.update(status="sending", claimed_at=NOON, attempts=1)
    WechatSubscription.objects.update(remaining=0)  # spent by the claim of the run that died

    messages_send_due(now=NOON + timedelta(days=1))

    assert statuses(member) == [(member.pk, "sent", "")]
    assert len(LocmemWechatMessageBackend.outbox) == 1
    assert WechatSubscription.objects.get().remaining == 0


def test_a_closed_accounts_messages_and_subscriptions_go(
    django_capture_on_commit_callbacks,
):
    member = wechat_member()
    other = wechat_member(openid="openid-2")
    queue(MessageTemplateFactory(), [member, other])
    messages_send_due(now=NOON)
    queue(MessageTemplateFactory(purpose="transactional"), [member, other])

    with django_capture_on_commit_callbacks(execute=True):
        member_delete(member=member)

    assert not Message.objects.filter(member=member).exists()
    assert not WechatSubscription.objects.filter(member=member).exists()
    assert Message.objects.filter(member=other).count() == 2


def test_sending_costs_a_fixed_number_of_queries_a_batch_and_the_same_for_each_message_sent():
    """Each message handed to a provider costs the same few writes (asked, answered), so a
    run that dies leaves nothing sent twice; everything else is per batch."""
    template = MessageTemplateFactory(channel="sms", sms_template_id="1")
    text = MessageTemplateFactory(channel="wechat", wechat_template_id="TPL-1")
    queries = {}
    for n in (1, 2, 11):
        queue(template, [consenting() for _ in range(n)], cause_id=n)
        queue(text, [wechat_member(openid=f"o-{n}-{i}") for i in range(n)], cause_id=n)
        with CaptureQueriesContext(connection) as run:
            messages_send_due(now=NOON)
        queries[n] = len(run)

    each = (queries[2] - queries[1]) / 2
    assert queries[11] - queries[1] == 20 * each
    assert Message.objects.filter(status="sent").count() == 28


@pytest.fixture
def queued_only(monkeypatch):
    """Committed messages are not sent at once (as the embedded default does): the workers
    of the test send them."""
    monkeypatch.setattr(outbox, "_send_soon", lambda: None)


@pytest.mark.django_db(transaction=True)
def test_two_workers_at_once_send_each_message_once(queued_only):
    members = [consenting() for _ in range(30)]
    queue(MessageTemplateFactory(channel="sms", sms_template_id="1"), members)

    run_together(lambda: messages_send_due(now=NOON, batch=7), 4)

    assert Message.objects.filter(status="sent").count() == 30
    assert sorted(phone for phone, _text in LocmemSmsBackend.outbox) == sorted(
        member.phone for member in members
    )


def test_a_message_to_a_closed_account_is_recorded_refused(django_capture_on_commit_callbacks):
    member = consenting()
    with django_capture_on_commit_callbacks(execute=True):
        member_delete(member=member)

    queue(MessageTemplateFactory(purpose="transactional"), [member])

    assert statuses(member) == [(member.pk, "refused", "closed")]


def test_a_merged_members_messages_and_subscriptions_follow_them(
    django_capture_on_commit_callbacks, hq_user
):
    survivor, merged = wechat_member(openid="o-s"), wechat_member(openid="o-m")
    WechatSubscription.objects.create(member=merged, template_id="TPL-2", remaining=1)
    both, only_merged = MessageTemplateFactory(), MessageTemplateFactory()
    queue(both, [survivor, merged])
    queue(only_merged, [merged])

    with django_capture_on_commit_callbacks(execute=True):
        member_merge(survivor=survivor, merged=merged, actor=hq_user, reason="同一人")

    assert sorted(Message.objects.values_list("member_id", "template_id")) == [
        (survivor.pk, both.pk),
        (survivor.pk, only_merged.pk),
    ]
    left = WechatSubscription.objects.values_list("member_id", "template_id", "remaining")
    assert sorted(left) == [
        (survivor.pk, "TPL-1", 2),
        (survivor.pk, "TPL-2", 1),
    ]


@pytest.mark.django_db(transaction=True)
def test_workers_at_once_keep_a_members_cap(settings, monkeypatch, queued_only):
    """Each run counts what the member was sent, then lingers before it claims: a second
    run deciding another of the member's messages meanwhile must count the first's."""
    settings.MESSAGE_CAPS = "inbox=1/10"
    member = consenting()
    template = MessageTemplateFactory()
    for cause in range(2):
        queue(template, [member], cause_id=cause)
    counted = outbox._marketing_sent

    def lingering(*args):
        found = counted(*args)
        time_module.sleep(0.5)
        return found

    monkeypatch.setattr(outbox, "_marketing_sent", lingering)

    run_together(lambda: messages_send_due(now=NOON, batch=1), 2)

    assert Counter(Message.objects.values_list("status", "reason")) == {
        ("sent", ""): 1,
        ("refused", "cap_channel_day"): 1,
    }


def test_a_provider_down_ends_the_run_and_every_text_goes_once_when_it_is_back(
    settings, monkeypatch
):
    settings.MESSAGE_RETRY_SECONDS = 60
    members = [consenting() for _ in range(6)]
    queue(MessageTemplateFactory(channel="sms", sms_template_id="1"), members)
    tried = []

    def stalled(self, phone, message, params, template):
        tried.append(phone)
        raise TimeoutError()  # as the provider's library says when its timeout runs out

    with monkeypatch.context() as patch:
        patch.setattr(LocmemSmsBackend, "send", stalled)
        messages_send_due(now=NOON)

    assert len(tried) == outbox.PROVIDER_DOWN_AFTER  # not one timeout per message
    assert Counter(Message.objects.values_list("status", "attempts")) == {
        ("queued", 1): 3,
        ("queued", 0): 3,
    }
    assert set(Message.objects.values_list("due_at", flat=True)) == {NOON + timedelta(seconds=60)}

    LocmemSmsBackend.outbox.clear()
    messages_send_due(now=NOON + timedelta(seconds=60))
    messages_send_due(now=NOON + timedelta(days=1))

    assert set(Message.objects.values_list("status", flat=True)) == {"sent"}
    assert sorted(phone for phone, _text in LocmemSmsBackend.outbox) == sorted(
        member.phone for member in members
    )

"""Review h27: a stale run's NOT_TRIED requeues a message another run is sending."""

from collections import Counter
from datetime import timedelta

import pytest

from apps.core.sms import LocmemSmsBackend
from apps.marketing import outbox
from apps.marketing.channels import Attempt, Outgoing, message_deliver
from apps.marketing.models import Message
from apps.marketing.outbox import messages_send_due
from tests.marketing.factories import MessageTemplateFactory
from tests.marketing.test_outbox import NOON, consenting, queue

pytestmark = pytest.mark.django_db


def _outgoing(message) -> Outgoing:
    return Outgoing(
        pk=message.pk,
        channel=message.channel,
        address=message.member.phone,
        provider_template=message.template.sms_template_id,
        template_body=message.template.body,
        wechat_fields="",
        title=message.title,
        body=message.body,
        link=message.link,
        values=message.values,
    )


def test_a_stale_runs_not_tried_never_requeues_a_message_another_run_is_sending(
    settings, monkeypatch
):
    """Run A (claimed at NOON) outlives its lease on a stalling provider. Run B settles A's
    rows and, while B is asking the provider for m3, A finds the provider down and records
    NOT_TRIED for m3 and m4 — on rows that are B's now (_results_record checks no
    claimed_at). m3 goes back to the queue although B sent it: it is texted twice."""
    settings.MESSAGE_SEND_LEASE_SECONDS = 600
    members = [consenting() for _ in range(5)]
    queue(MessageTemplateFactory(channel="sms", sms_template_id="1"), members)
    later = NOON + timedelta(seconds=601)
    calls = []

    def a_stalls(message):
        calls.append(message.pk)
        if len(calls) == outbox.PROVIDER_DOWN_AFTER:
            # meanwhile run B (A's lease over) settles A's rows, claims, asks for m3
            outbox._dead_runs_settle(later)
            outbox._messages_claim(later, 500)
            m3 = Message.objects.get(member=members[3])
            assert outbox._asking(m3.pk, later)
        return Attempt(error="TimeoutError")

    monkeypatch.setattr(outbox, "message_deliver", a_stalls)
    messages_send_due(now=NOON)  # run A ends: provider down, m3 and m4 NOT_TRIED
    monkeypatch.setattr(outbox, "message_deliver", message_deliver)

    # run B gets the provider's answer for m3: taken
    m3 = Message.objects.select_related("member", "template").get(member=members[3])
    outbox._results_record([(m3.pk, message_deliver(_outgoing(m3)))], later)
    messages_send_due(now=later + timedelta(days=1))

    texted = [phone for phone, _text in LocmemSmsBackend.outbox]
    assert texted.count(members[3].phone) == 1, "m3 was texted twice"


def test_a_run_asks_nothing_past_half_its_lease_and_claims_the_rest_anew(settings, monkeypatch):
    """However slow each answer, no message is asked for once half its claim's lease has
    gone: the rest go back to the queue unasked (no try counted), and the run claims them
    anew, with a lease of their own, until the queue is empty."""
    settings.MESSAGE_SEND_LEASE_SECONDS = 600
    members = [consenting() for _ in range(4)]
    queue(MessageTemplateFactory(channel="sms", sms_template_id="1"), members)
    elapsed = [0]

    def slow(message):
        elapsed[0] += 200  # each answer takes 200 s
        return message_deliver(message)

    monkeypatch.setattr(outbox, "_clock", lambda: elapsed[0])
    monkeypatch.setattr(outbox, "message_deliver", slow)

    messages_send_due(now=NOON)

    assert Counter(Message.objects.values_list("status", "attempts")) == {("sent", 1): 4}
    assert Counter(Message.objects.values_list("claimed_at", flat=True)) == {
        NOON: 2,  # asked at 0 s and 200 s; the third's turn came at 400 s, past 300 s
        NOON + timedelta(seconds=400): 2,
    }
    texted = sorted(phone for phone, _text in LocmemSmsBackend.outbox)
    assert texted == sorted(member.phone for member in members)

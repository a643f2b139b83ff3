"""The real WeChat subscription-message backend (apps.marketing.wechat) against a local fake
of WeChat's API: the access token asked for once and kept, asked again when WeChat rejects
it, the template's fields filled in and cut to WeChat's lengths, a member WeChat says has no
subscription refused for good, anything else retried."""

import json
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.cache import cache

from apps.marketing.models import Message, WechatSubscription
from apps.marketing.outbox import messages_send_due
from apps.marketing.wechat import WechatSubscribeMessageBackend
from tests.fake_http import Answer, fake_server
from tests.marketing.factories import MessageTemplateFactory
from tests.marketing.test_outbox import NOON, queue, wechat_member

pytestmark = pytest.mark.django_db

SECRET = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
SENT = Answer(200, b'{"errcode": 0, "errmsg": "ok", "msgid": 294402298110051942}')


def reply(errcode: int) -> Answer:
    return Answer(200, json.dumps({"errcode": errcode, "errmsg": f"rid: {errcode}"}).encode())


@pytest.fixture
def wechat(settings):
    """The fake WeChat API: a new token at each stable_token; `wechat.replies` are its next
    answers to subscribeMessage.send (then SENT)."""
    replies, tokens = [], []

    def answer(request):
        if urlsplit(request.path).path == "/cgi-bin/stable_token":
            tokens.append(f"TOKEN-{len(tokens) + 1}")
            return Answer(
                200, json.dumps({"access_token": tokens[-1], "expires_in": 7200}).encode()
            )
        return replies.pop(0) if replies else SENT

    cache.clear()
    with fake_server(answer) as server:
        settings.WECHAT_MESSAGE_BACKEND = "apps.marketing.wechat.WechatSubscribeMessageBackend"
        settings.WECHAT_API_BASE = server.url
        settings.WECHAT_APP_ID = "wxd678efh567hg6787"
        settings.WECHAT_APP_SECRET = SECRET
        server.replies = replies
        yield server
    cache.clear()


def sends(wechat):
    return [r for r in wechat.received if r.path.startswith("/cgi-bin/message/subscribe/send")]


def token_of(request) -> str:
    [token] = parse_qs(urlsplit(request.path).query)["access_token"]
    return token


def birthday_template():
    return MessageTemplateFactory(
        channel="wechat",
        wechat_template_id="TPL-1",
        link="pages/coupons/index",
        wechat_fields="thing1: {name}，{coupon}已放入券包，快来看看吧\ncharacter_string2: {points}",
    )


def test_a_message_goes_with_the_token_kept_and_its_fields_cut_to_wechats_lengths(wechat):
    first, second = wechat_member(openid="oA"), wechat_member(openid="oB")
    first.name = "李雷"
    first.save()
    template = birthday_template()
    queue(template, [first, second], coupon="满100减20券")

    messages_send_due(now=NOON)

    token_asked, *sent = wechat.received
    assert (token_asked.method, token_asked.path) == ("POST", "/cgi-bin/stable_token")
    assert token_asked.json() == {
        "grant_type": "client_credential",
        "appid": "wxd678efh567hg6787",
        "secret": SECRET,
        "force_refresh": False,
    }
    assert [token_of(request) for request in sent] == ["TOKEN-1", "TOKEN-1"]
    assert sent[0].json() == {
        "touser": "oA",
        "template_id": "TPL-1",
        "page": "pages/coupons/index",
        "data": {
            "thing1": {"value": "李雷，满100减20券已放入券包，快来…"},
            "character_string2": {"value": "0"},
        },
        "miniprogram_state": "formal",
        "lang": "zh_CN",
    }
    assert len(sent[0].json()["data"]["thing1"]["value"]) == 20
    assert list(Message.objects.values_list("status", "provider_id").distinct()) == [
        ("sent", "294402298110051942")
    ]


@pytest.mark.parametrize("errcode", [40001, 42001])
def test_a_rejected_token_is_asked_for_again_once(wechat, errcode):
    queue(birthday_template(), [wechat_member()])
    wechat.replies.append(reply(errcode))

    messages_send_due(now=NOON)

    assert [token_of(request) for request in sends(wechat)] == ["TOKEN-1", "TOKEN-2"]
    assert Message.objects.get().status == "sent"
    assert cache.get("wechat:stable-token:wxd678efh567hg6787") == "TOKEN-2"


def test_a_token_rejected_twice_is_an_error_retried_later(wechat):
    member = wechat_member()
    queue(birthday_template(), [member])
    wechat.replies += [reply(40001), reply(40001)]

    messages_send_due(now=NOON)

    assert len(sends(wechat)) == 2
    message = Message.objects.get()
    assert (message.status, message.reason, message.error) == ("queued", "provider", "40001")


def test_a_member_wechat_says_has_no_subscription_is_refused_and_never_retried(wechat):
    member = wechat_member(subscriptions=3)
    queue(birthday_template(), [member])
    wechat.replies.append(reply(43101))

    messages_send_due(now=NOON)
    messages_send_due(now=NOON + timedelta(days=1))

    assert len(sends(wechat)) == 1
    message = Message.objects.get()
    assert (message.status, message.reason, message.error) == (
        "refused",
        "no_subscription",
        "43101",
    )
    assert WechatSubscription.objects.get().remaining == 2


@pytest.mark.parametrize(
    "answer",
    [reply(-1), reply(45009), Answer(502, b"<html>Bad Gateway</html>"), Answer(200, b"[]")],
    ids=["busy", "limit", "HTTP error", "not an object"],
)
def test_any_other_answer_is_retried_with_backoff_and_the_subscription_given_back(wechat, answer):
    member = wechat_member(subscriptions=1)
    queue(birthday_template(), [member])
    wechat.replies.append(answer)

    messages_send_due(now=NOON)

    message = Message.objects.get()
    assert (message.status, message.reason, message.attempts) == ("queued", "provider", 1)
    assert message.due_at == NOON + timedelta(seconds=60)
    assert WechatSubscription.objects.get().remaining == 1

    messages_send_due(now=NOON + timedelta(seconds=60))

    message.refresh_from_db()
    assert (message.status, message.provider_id) == ("sent", "294402298110051942")
    assert WechatSubscription.objects.get().remaining == 0


def test_a_send_not_answered_in_time_may_have_gone_and_is_never_sent_again(wechat, settings):
    """Review h27: WeChat had the message and did not answer within the timeout: it may
    have reached the member; sending it again could send it twice."""
    settings.WECHAT_MESSAGE_TIMEOUT_SECONDS = 1
    member = wechat_member(subscriptions=2)
    queue(birthday_template(), [member])
    wechat.replies.append(Answer(200, SENT.body, delay=3))

    messages_send_due(now=NOON)
    messages_send_due(now=NOON + timedelta(days=1))

    assert len(sends(wechat)) == 1
    message = Message.objects.get()
    assert (message.status, message.reason, message.error) == ("failed", "interrupted", "timeout")
    assert WechatSubscription.objects.get().remaining == 1  # it may have been spent


def test_a_token_not_answered_in_time_sent_nothing_and_is_retried(settings):
    """The whole message has WECHAT_MESSAGE_TIMEOUT_SECONDS: a stable_token that stalls
    leaves no time to send, and nothing went."""
    settings.WECHAT_MESSAGE_TIMEOUT_SECONDS = 1

    def stalls(request):
        return Answer(200, b'{"access_token": "T", "expires_in": 7200}', delay=3)

    cache.clear()
    with fake_server(stalls) as server:
        settings.WECHAT_MESSAGE_BACKEND = "apps.marketing.wechat.WechatSubscribeMessageBackend"
        settings.WECHAT_API_BASE = server.url
        settings.WECHAT_APP_ID, settings.WECHAT_APP_SECRET = "wxd678efh567hg6787", SECRET
        queue(birthday_template(), [wechat_member()])

        messages_send_due(now=NOON)

        assert [request.path for request in server.received] == ["/cgi-bin/stable_token"]
    message = Message.objects.get()
    assert (message.status, message.reason, message.error) == ("queued", "provider", "timeout")
    cache.clear()


def test_the_real_backend_needs_the_mini_programs_id_and_secret(settings):
    settings.WECHAT_APP_ID = ""
    settings.WECHAT_MINIPROGRAM_STATE = "beta"

    assert WechatSubscribeMessageBackend.configuration_problems() == [
        "WeChat messages need WECHAT_APP_ID and WECHAT_APP_SECRET.",
        "WECHAT_MINIPROGRAM_STATE is one of formal, trial, developer.",
    ]


def test_h27_members_wechat_rejects_one_by_one_never_stop_the_others(wechat):
    """Review h27: WeChat answering errcode 40003 (an openid not of this app) for three
    members in a row is WeChat up and answering, like 43101; the outbox counts it as the
    provider down, ends the run and puts every other WeChat message back for later — each
    run again, as long as such members come first."""
    template = birthday_template()
    bad = [wechat_member(openid=f"o-bad-{n}") for n in range(3)]
    good = [wechat_member(openid=f"o-good-{n}") for n in range(3)]
    queue(template, [*bad, *good])
    wechat.replies.extend([reply(40003)] * 3)

    messages_send_due(now=NOON)

    assert Message.objects.filter(member__in=good, status="sent").count() == 3


@pytest.mark.parametrize("errcode", [40003, 47003])
def test_h29_an_openid_or_data_wechat_rejects_fails_at_once_its_subscription_back(wechat, errcode):
    member = wechat_member(subscriptions=1)
    queue(birthday_template(), [member])
    wechat.replies.append(reply(errcode))

    messages_send_due(now=NOON)
    messages_send_due(now=NOON + timedelta(days=1))

    assert len(sends(wechat)) == 1
    message = Message.objects.get()
    assert (message.status, message.reason, message.error) == ("failed", "provider", str(errcode))
    assert WechatSubscription.objects.get().remaining == 1

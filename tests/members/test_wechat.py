"""The real WeChat login provider (apps.members.wechat.WechatProvider) against a local fake
of WeChat's jscode2session: a code becomes an openid, and anything else WeChat (or the
network) answers is a 400 invalid, never a 500 and never a member."""

import json
import logging
from urllib.parse import parse_qs, urlsplit

import pytest

from apps.members.models import Member, MemberIdentity
from apps.members.wechat import WechatLoginFailed, WechatProvider, WechatUser
from tests.fake_http import Answer, fake_server

pytestmark = pytest.mark.django_db

SECRET = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"


@pytest.fixture
def wechat(settings):
    """The fake WeChat API; `wechat.replies` holds its next answers."""
    replies = []

    def answer(request):
        if replies:
            return replies.pop(0)
        return Answer(200, b'{"openid": "oUpF8uMuAJO", "session_key": "k", "unionid": "oU1"}')

    with fake_server(answer) as server:
        settings.WECHAT_PROVIDER = "apps.members.wechat.WechatProvider"
        settings.WECHAT_API_BASE = server.url
        settings.WECHAT_APP_ID = "wxd678efh567hg6787"
        settings.WECHAT_APP_SECRET = SECRET
        server.replies = replies
        yield server


def test_a_code_becomes_the_wechat_users_openid(wechat):
    user = WechatProvider().code_to_user("081Kq4Ga1MSox83KYgGa1zb8qs0Kq4Gj")

    [request] = wechat.received
    url = urlsplit(request.path)
    assert user == WechatUser(openid="oUpF8uMuAJO", unionid="oU1")
    assert (request.method, url.path) == ("GET", "/sns/jscode2session")
    assert parse_qs(url.query) == {
        "appid": ["wxd678efh567hg6787"],
        "secret": [SECRET],
        "js_code": ["081Kq4Ga1MSox83KYgGa1zb8qs0Kq4Gj"],
        "grant_type": ["authorization_code"],
    }


def test_signing_in_with_wechat_through_the_api(wechat, api_client):
    response = api_client.post("/api/v1/auth/wechat", {"code": "081Kq4G"}, format="json")

    assert response.status_code == 200, response.json()
    assert len(wechat.received) == 1


FAILURES = {
    "invalid code": Answer(200, b'{"errcode": 40029, "errmsg": "invalid code"}'),
    "code already used": Answer(200, b'{"errcode": 40163, "errmsg": "code been used"}'),
    "busy": Answer(200, b'{"errcode": -1, "errmsg": "system error"}'),
    "HTTP error": Answer(500, b"<html>500</html>"),
    "not JSON": Answer(200, b"<html>ok</html>"),
    "a JSON list": Answer(200, b"[]"),
    "openid not a string": Answer(200, json.dumps({"openid": ["o1"]}).encode()),
    "no answer in time": Answer(200, b'{"openid": "late"}', delay=3),
}


@pytest.mark.parametrize("case", FAILURES)
def test_whatever_else_wechat_answers_is_a_failed_login(
    case, wechat, api_client, monkeypatch, caplog
):
    monkeypatch.setattr(WechatProvider, "timeout_seconds", 1)
    wechat.replies.append(FAILURES[case])
    caplog.set_level(logging.DEBUG)

    response = api_client.post("/api/v1/auth/wechat", {"code": "081Kq4G"}, format="json")

    assert (response.status_code, response.json()["code"]) == (400, "invalid")
    assert not Member.objects.exists() and not MemberIdentity.objects.exists()
    assert SECRET not in caplog.text
    [warning] = [r for r in caplog.records if r.name == "apps.members.wechat"]
    assert warning.levelno == logging.WARNING


def test_the_provider_itself_raises_wechat_login_failed(wechat):
    wechat.replies.append(FAILURES["invalid code"])

    with pytest.raises(WechatLoginFailed):
        WechatProvider().code_to_user("bad")

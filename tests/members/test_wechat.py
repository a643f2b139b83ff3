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
from tests.members.factories import MemberFactory, member_client

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


# The official account's web OAuth (snsapi_base), for paying in WeChat's in-app browser

OA_APP_ID = "wx520c15f417810387"
OA_SECRET = "9a8b7c6d5e4f30211203f4e5d6c7b8a9"
OA_OPENID = "ob8F-wFENFWw7_FR6Gx8KbPacFEw"


@pytest.fixture
def oa(wechat, settings):
    settings.WECHAT_OA_APP_ID = OA_APP_ID
    settings.WECHAT_OA_APP_SECRET = OA_SECRET
    wechat.replies.append(
        Answer(
            200,
            json.dumps(
                {
                    "access_token": "ACCESS_TOKEN",
                    "expires_in": 7200,
                    "refresh_token": "REFRESH_TOKEN",
                    "openid": OA_OPENID,
                    "scope": "snsapi_base",
                }
            ).encode(),
        )
    )
    return wechat


def bind(api_client, member, code="071CyW000UGidO1SxY000uNATs1CyW04"):
    return member_client(api_client, member).post(
        "/api/v1/auth/wechat-oa", {"code": code}, format="json"
    )


def test_an_oauth_code_becomes_the_openid_under_the_official_account(oa):
    openid = WechatProvider().oa_code_to_openid("071CyW000UGidO1SxY000uNATs1CyW04")

    [request] = oa.received
    url = urlsplit(request.path)
    assert openid == OA_OPENID
    assert (request.method, url.path) == ("GET", "/sns/oauth2/access_token")
    assert parse_qs(url.query) == {
        "appid": [OA_APP_ID],
        "secret": [OA_SECRET],
        "code": ["071CyW000UGidO1SxY000uNATs1CyW04"],
        "grant_type": ["authorization_code"],
    }


OA_FAILURES = {
    **FAILURES,
    "a snapshot-page virtual account": Answer(
        200, json.dumps({"openid": "o-virtual", "is_snapshotuser": 1}).encode()
    ),
}


@pytest.mark.parametrize("case", OA_FAILURES)
def test_whatever_else_the_oauth_answers_binds_nothing(case, oa, api_client, monkeypatch, caplog):
    monkeypatch.setattr(WechatProvider, "timeout_seconds", 1)
    oa.replies[:] = [OA_FAILURES[case]]
    member = MemberFactory()
    caplog.set_level(logging.DEBUG)

    response = bind(api_client, member)

    assert (response.status_code, response.json()["code"]) == (400, "invalid")
    assert not MemberIdentity.objects.exists()
    assert OA_SECRET not in caplog.text
    [warning] = [r for r in caplog.records if r.name == "apps.members.wechat"]
    assert warning.levelno == logging.WARNING


def test_a_brand_without_an_official_account_binds_nothing_and_asks_no_one(wechat, api_client):
    response = bind(api_client, MemberFactory())

    assert (response.status_code, response.json()["code"]) == (400, "invalid")
    assert response.json()["message"] == "本品牌没有可用于登录的微信公众号。"
    assert wechat.received == [] and not MemberIdentity.objects.exists()


def test_binding_through_the_official_account_keeps_its_openid(oa, api_client):
    member = MemberFactory()

    response = bind(api_client, member)

    assert response.status_code == 200, response.json()
    assert response.json()["id"] == member.pk
    assert list(MemberIdentity.objects.values_list("member", "kind", "value")) == [
        (member.pk, "wechat_oa_openid", OA_OPENID)
    ]


def test_half_an_official_account_is_a_configuration_problem(wechat, settings):
    settings.WECHAT_OA_APP_ID = OA_APP_ID
    settings.WECHAT_OA_APP_SECRET = ""

    assert WechatProvider.configuration_problems() == [
        "WECHAT_OA_APP_ID is set: WeChat's web OAuth needs WECHAT_OA_APP_SECRET too."
    ]
    settings.WECHAT_OA_APP_SECRET = OA_SECRET
    assert WechatProvider.configuration_problems() == []

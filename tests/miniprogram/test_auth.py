"""Mini-program sign-in: SMS codes, tokens, WeChat, exactly as API.md."""

import re
from datetime import date, timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone
from rest_framework.test import APIClient

from apps.core.sms import LocmemSmsBackend
from apps.members.credentials import member_token_issue, member_token_member
from apps.members.models import Member, MemberIdentity, SmsCode, StoreVisit
from apps.members.wechat import FakeWechatProvider
from tests.conftest import run_together
from tests.members.factories import MemberFactory, member_client
from tests.stores.factories import StaffFactory, StoreFactory

pytestmark = pytest.mark.django_db

PHONE = "13912345678"


@pytest.fixture(autouse=True)
def sms_outbox():
    LocmemSmsBackend.outbox.clear()
    yield LocmemSmsBackend.outbox
    LocmemSmsBackend.outbox.clear()


@pytest.fixture
def send(api_client, django_capture_on_commit_callbacks):
    def send_code(phone=PHONE, **extra):
        with django_capture_on_commit_callbacks(execute=True):
            return api_client.post(
                "/api/v1/auth/sms-code", {"phone": phone}, format="json", **extra
            )

    return send_code


def login(client, phone=PHONE, code="", *, address="127.0.0.1", **fields):
    return client.post(
        "/api/v1/auth/login",
        {"phone": phone, "code": code, **fields},
        format="json",
        REMOTE_ADDR=address,
    )


def code_from(outbox) -> str:
    return re.search(r"(?<!\d)\d{6}(?!\d)", outbox[-1][1]).group()


def test_sms_code_is_sent_once_and_stored_hashed(send, sms_outbox):
    response = send("+86 139 1234 5678")

    assert response.status_code == 200
    assert response.json() == {"retry_after": 60}
    assert len(sms_outbox) == 1 and sms_outbox[0][0] == PHONE
    code = code_from(sms_outbox)
    assert code not in SmsCode.objects.get().code_hash


def test_sms_code_for_a_landline_is_invalid_and_sends_nothing(send, sms_outbox):
    response = send("021-68888888", HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert body["fields"] == {
        "phone": ["Enter a mainland China mobile number, such as 138 0013 8000."]
    }
    assert sms_outbox == [] and SmsCode.objects.count() == 0


def test_a_second_code_within_a_minute_is_throttled(send, sms_outbox):
    send()

    response = send()

    assert response.status_code == 429
    assert response.json()["code"] == "throttled"
    assert response["Retry-After"] == "60"
    assert len(sms_outbox) == 1


def test_a_requester_gets_three_codes_a_day_for_a_number_and_the_number_ten(send, sms_outbox):
    def from_address(n):
        cache.delete(f"sms-gap:{PHONE}:10.0.0.{n}")  # a minute has passed
        return send(REMOTE_ADDR=f"10.0.0.{n}").status_code

    one_requester = [from_address(1) for _ in range(4)]
    others = [from_address(n) for n in range(2, 6) for _ in range(2)]

    assert one_requester == [200, 200, 200, 429]
    assert others == [200] * 7 + [429]  # ten for the number today, from everyone together
    assert len(sms_outbox) == SmsCode.objects.count() == 10


def test_one_client_address_cannot_spray_codes(send, monkeypatch):
    from apps.core.api.throttling import ScopedRateThrottle

    monkeypatch.setitem(ScopedRateThrottle.THROTTLE_RATES, "sms_ip", "3/hour")
    statuses = [send(f"1391234000{n}").status_code for n in range(4)]

    assert statuses == [200, 200, 200, 429]


def test_test_numbers_get_no_message(send, sms_outbox):
    assert send("13800000000").status_code == 200
    assert sms_outbox == []


def test_first_login_creates_the_member_then_finds_it(api_client, send, sms_outbox):
    send()
    first = login(api_client, code=code_from(sms_outbox))
    api_client.credentials()
    again = login(api_client, "13800000000", "123456")
    twice = login(api_client, "13800000000", "123456")

    assert first.status_code == 200
    body = first.json()
    assert body["created"] is True and body["token"]
    assert body["member"]["phone_masked"] == "139****5678"
    assert body["member"]["tier"] is None
    assert body["member"]["points"] == {"available": 0, "pending": 0, "expiring": []}
    assert (again.json()["created"], twice.json()["created"]) == (True, False)
    assert Member.objects.count() == 2


def test_wrong_code_is_refused_and_creates_nothing(api_client, send, sms_outbox):
    send()
    right = code_from(sms_outbox)
    wrong = "000000" if right != "000000" else "111111"

    response = login(api_client, code=wrong)

    assert response.status_code == 400
    assert response.json()["code"] == "wrong_code"
    assert Member.objects.count() == 0


def test_a_code_works_once(api_client, send, sms_outbox):
    send()
    code = code_from(sms_outbox)

    assert login(api_client, code=code).status_code == 200
    assert login(api_client, code=code).json()["code"] == "wrong_code"


def test_an_expired_code_is_refused(api_client, send, sms_outbox):
    send()
    SmsCode.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    assert login(api_client, code=code_from(sms_outbox)).json()["code"] == "wrong_code"


def test_five_wrong_tries_stop_the_requester_not_the_member(api_client, send, sms_outbox):
    send()
    right = code_from(sms_outbox)
    wrong = "000000" if right != "000000" else "111111"
    stranger = [login(api_client, code=wrong, address="10.9.9.9").status_code for _ in range(6)]

    refused = login(api_client, code=right, address="10.9.9.9")
    member = login(APIClient(), code=right, address="10.1.1.1")

    assert stranger == [400] * 5 + [429]
    assert (refused.status_code, refused.json()["code"]) == (429, "throttled")
    assert member.status_code == 200 and member.json()["created"] is True
    assert SmsCode.objects.get().wrong_tries == 5


def test_first_login_through_a_store_and_guide_sets_home_store_guide_and_referrer(api_client):
    guide = StaffFactory(role="guide")
    referrer = MemberFactory()

    response = login(
        api_client,
        "13800000000",
        "123456",
        store_code=guide.store.code.lower(),
        guide_code=guide.guide_code,
        referral_code=referrer.referral_code,
    )
    member = Member.objects.get(phone="13800000000")
    assert response.json()["member"]["home_store"] == {
        "code": guide.store.code,
        "name": guide.store.name,
    }
    assert (member.home_store, member.guide, member.referrer) == (guide.store, guide, referrer)
    assert member.source == "miniprogram"
    assert StoreVisit.objects.filter(member=member, store=guide.store).count() == 1


def test_signing_in_through_another_store_later_does_not_move_the_member(api_client):
    first, other = StoreFactory(), StoreFactory()
    login(api_client, "13800000000", "123456", store_code=first.code)

    login(api_client, "13800000000", "123456", store_code=other.code)

    assert Member.objects.get().home_store == first


@pytest.mark.django_db(transaction=True)
def test_concurrent_first_logins_make_one_member():
    def first_login():
        return login(APIClient(), "13800000000", "123456").status_code

    statuses = run_together(first_login, 5)

    assert statuses == [200] * 5
    assert Member.objects.filter(phone="13800000000").count() == 1


def test_frozen_member_cannot_sign_in(api_client):
    MemberFactory(phone="13800000000", status=Member.Status.FROZEN)

    response = login(api_client, "13800000000", "123456")

    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"


def test_logout_ends_the_session(api_client):
    client = member_client(api_client, MemberFactory())

    assert client.post("/api/v1/auth/logout").status_code == 204
    response = client.get("/api/v1/me")

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    assert response["WWW-Authenticate"] == "Bearer"


def test_expired_token_is_refused(api_client, settings):
    settings.MEMBER_TOKEN_TTL_DAYS = -1
    client = member_client(api_client, MemberFactory())

    assert client.get("/api/v1/me").status_code == 401


def test_a_member_frozen_after_signing_in_is_signed_out(api_client):
    member = MemberFactory()
    client = member_client(api_client, member)
    assert client.get("/api/v1/me").status_code == 200

    Member.objects.filter(pk=member.pk).update(status=Member.Status.FROZEN)

    assert client.get("/api/v1/me").status_code == 401


def test_the_member_a_token_names_is_the_whole_member():
    member = MemberFactory(
        birthday=date(1990, 5, 17), marketing_consent=True, consent_at=timezone.now()
    )
    token = member_token_issue(member=member)

    found = member_token_member(token)

    stored = Member.objects.get(pk=member.pk)
    for field in Member._meta.concrete_fields:
        assert getattr(found, field.attname) == getattr(stored, field.attname), field.name
    assert not found._state.adding
    assert member_token_member(token + "x") is None


def test_wechat_login_asks_to_bind_a_new_openid_then_signs_in(api_client):
    first = api_client.post("/api/v1/auth/wechat", {"code": "wx-code-1"}, format="json")

    assert first.status_code == 200
    assert first.json()["bind_required"] is True
    bound = login(api_client, "13800000000", "123456", wechat_session=first.json()["session"])
    assert bound.status_code == 200
    member = Member.objects.get(phone="13800000000")
    assert set(member.identities.values_list("kind", flat=True)) == {
        MemberIdentity.Kind.WECHAT_OPENID,
        MemberIdentity.Kind.WECHAT_UNIONID,
    }

    again = api_client.post("/api/v1/auth/wechat", {"code": "wx-code-1"}, format="json")
    assert again.json()["created"] is False
    assert again.json()["member"]["id"] == member.pk


def test_a_forged_wechat_session_is_invalid(api_client):
    response = login(api_client, "13800000000", "123456", wechat_session="forged")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert Member.objects.count() == 0


# Binding the official account's openid (WeChat's browser); the fake provider maps a code to
# fake-oa-openid-<digest>, the real one is tested in tests/members/test_wechat.py.


def oa_openid(code: str) -> str:
    return FakeWechatProvider().oa_code_to_openid(code)


def test_binding_the_official_account_needs_a_signed_in_member(api_client):
    response = api_client.post("/api/v1/auth/wechat-oa", {"code": "oa-code"}, format="json")

    assert (response.status_code, response.json()["code"]) == (401, "not_authenticated")
    assert not MemberIdentity.objects.exists()


@pytest.mark.parametrize("body", [{}, {"code": ""}, {"code": "x" * 129}, {"code": ["oa-code"]}])
def test_binding_without_a_usable_code_is_invalid(body, api_client):
    client = member_client(api_client, MemberFactory())

    response = client.post("/api/v1/auth/wechat-oa", body, format="json")

    assert (response.status_code, response.json()["code"]) == (400, "invalid")
    assert "code" in response.json()["fields"]
    assert not MemberIdentity.objects.exists()


def test_an_official_account_openid_of_another_member_stays_theirs(api_client):
    owner, other = MemberFactory(), MemberFactory()
    MemberIdentity.objects.create(
        member=owner, kind=MemberIdentity.Kind.WECHAT_OA_OPENID, value=oa_openid("oa-code")
    )

    response = member_client(api_client, other).post(
        "/api/v1/auth/wechat-oa", {"code": "oa-code"}, format="json"
    )

    assert (response.status_code, response.json()["code"]) == (409, "duplicate")
    assert response.json()["message"].startswith("此微信账号已属于另一位会员")
    assert list(MemberIdentity.objects.values_list("member", flat=True)) == [owner.pk]


def test_the_mini_programs_openid_of_another_member_does_not_block_the_official_accounts(
    api_client,
):
    owner, member = MemberFactory(), MemberFactory()
    MemberIdentity.objects.create(
        member=owner, kind=MemberIdentity.Kind.WECHAT_OPENID, value=oa_openid("oa-code")
    )

    response = member_client(api_client, member).post(
        "/api/v1/auth/wechat-oa", {"code": "oa-code"}, format="json"
    )

    assert response.status_code == 200
    assert member.identities.get().kind == "wechat_oa_openid"


def test_binding_the_official_account_again_is_a_no_op(api_client):
    member = MemberFactory()
    client = member_client(api_client, member)

    first = client.post("/api/v1/auth/wechat-oa", {"code": "oa-code"}, format="json")
    again = client.post("/api/v1/auth/wechat-oa", {"code": "oa-code"}, format="json")

    assert first.status_code == again.status_code == 200
    assert first.json() == again.json() and first.json()["id"] == member.pk
    assert list(MemberIdentity.objects.values_list("member", "kind", "value")) == [
        (member.pk, "wechat_oa_openid", oa_openid("oa-code"))
    ]

"""Signing in as one use case (member_sign_in, member_wechat_sign_in): a wrong code changes
nothing, a right one stays spent whatever follows, and the rest is all or nothing."""

import re

import pytest

from apps.core.sms import LocmemSmsBackend
from apps.members.credentials import sms_code_send
from apps.members.errors import MemberFrozen, WechatSessionExpired, WrongCode
from apps.members.models import Member, MemberIdentity, MemberToken, SmsCode, StoreVisit
from apps.members.sign_in import BindRequired, SignedIn, member_sign_in, member_wechat_sign_in
from apps.members.wechat import FakeWechatProvider
from apps.stores.errors import StoreClosed
from apps.stores.models import Store
from tests.members.factories import MemberFactory
from tests.stores.factories import StaffFactory, StoreFactory

pytestmark = pytest.mark.django_db

PHONE = "13912345678"


@pytest.fixture
def code(django_capture_on_commit_callbacks):
    LocmemSmsBackend.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        sms_code_send(phone=PHONE, ip="10.0.0.1")
    texted = re.search(r"(?<!\d)\d{6}(?!\d)", LocmemSmsBackend.outbox[-1][1]).group()
    LocmemSmsBackend.outbox.clear()
    return texted


def nothing_made():
    return not (
        Member.objects.exists()
        or MemberToken.objects.exists()
        or MemberIdentity.objects.exists()
        or StoreVisit.objects.exists()
    )


def test_a_first_sign_in_joins_through_the_link_and_issues_a_token(code):
    guide = StaffFactory(role="guide")

    signed = member_sign_in(
        phone=PHONE, code=code, ip="10.0.0.1", store_code="", guide_code=guide.guide_code.lower()
    )

    assert isinstance(signed, SignedIn) and signed.created is True
    member = Member.objects.get()
    assert (signed.member, member.home_store, member.guide) == (member, guide.store, guide)
    assert MemberToken.objects.get().member == member and signed.token
    assert member.last_active_at is not None


def test_a_wrong_code_changes_nothing(code):
    wrong = "000000" if code != "000000" else "111111"

    with pytest.raises(WrongCode):
        member_sign_in(phone=PHONE, code=wrong, ip="10.0.0.1")

    assert nothing_made()
    assert SmsCode.objects.get().used_at is None


def test_a_forged_wechat_session_is_refused_before_the_code_is_spent(code):
    with pytest.raises(WechatSessionExpired):
        member_sign_in(phone=PHONE, code=code, ip="10.0.0.1", wechat_session="forged")

    assert nothing_made()
    assert SmsCode.objects.get().used_at is None


def test_a_right_code_stays_spent_when_the_sign_in_is_refused_after_it(code):
    closed = StoreFactory(status=Store.Status.CLOSED)

    with pytest.raises(StoreClosed):
        member_sign_in(phone=PHONE, code=code, ip="10.0.0.1", store_code=closed.code)
    with pytest.raises(WrongCode):  # the code was shown: it cannot sign in again
        member_sign_in(phone=PHONE, code=code, ip="10.0.0.1")

    assert nothing_made()
    assert SmsCode.objects.get().used_at is not None


def test_a_failure_after_joining_leaves_no_member_identity_or_token(code, monkeypatch):
    session = member_wechat_sign_in(code="wx-code").session

    def token_refused(*, member):
        raise RuntimeError("the token store is down")

    monkeypatch.setattr("apps.members.sign_in.member_token_issue", token_refused)
    with pytest.raises(RuntimeError):
        member_sign_in(phone=PHONE, code=code, ip="10.0.0.1", wechat_session=session)

    assert nothing_made()
    assert SmsCode.objects.get().used_at is not None


def test_a_frozen_member_is_refused_and_nothing_is_linked(code):
    MemberFactory(phone=PHONE, status=Member.Status.FROZEN)
    session = member_wechat_sign_in(code="wx-code").session

    with pytest.raises(MemberFrozen):
        member_sign_in(phone=PHONE, code=code, ip="10.0.0.1", wechat_session=session)

    assert not MemberIdentity.objects.exists() and not MemberToken.objects.exists()


def test_wechat_signs_in_a_bound_member_and_asks_an_unknown_account_to_bind():
    user = FakeWechatProvider().code_to_user("wx-code")
    member = MemberFactory()
    unknown = member_wechat_sign_in(code="wx-code")
    MemberIdentity.objects.create(
        member=member, kind=MemberIdentity.Kind.WECHAT_UNIONID, value=user.unionid
    )

    signed = member_wechat_sign_in(code="wx-code")

    assert isinstance(unknown, BindRequired) and unknown.session
    assert (signed.member, signed.created) == (member, False)
    assert MemberIdentity.objects.get(kind=MemberIdentity.Kind.WECHAT_OPENID).value == user.openid
    assert MemberToken.objects.get().member == member


def test_the_wechat_account_of_a_member_no_longer_active_asks_to_bind():
    user = FakeWechatProvider().code_to_user("wx-code")
    member = MemberFactory(status=Member.Status.FROZEN)
    MemberIdentity.objects.create(
        member=member, kind=MemberIdentity.Kind.WECHAT_OPENID, value=user.openid
    )

    answer = member_wechat_sign_in(code="wx-code")

    assert isinstance(answer, BindRequired)
    assert not MemberToken.objects.exists()

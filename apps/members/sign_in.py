"""Signing in to the mini-program (登录): with a code texted to the phone, joining on the
first sign-in (开卡), or with WeChat for a member whose WeChat account is bound already.
One service per way in; the API only translates HTTP to it and back."""

from dataclasses import dataclass

from django.core import signing
from django.db import transaction

from apps.core.clients import requester_of
from apps.members.credentials import member_token_issue, sms_code_verify
from apps.members.errors import WechatSessionExpired
from apps.members.models import Member, MemberIdentity
from apps.members.selectors import guide_by_code, member_by_referral_code
from apps.members.services import (
    member_find_by_identity,
    member_identity_link,
    member_join_or_find,
    member_touch,
)
from apps.members.wechat import wechat_provider
from apps.stores.selectors import store_by_code

# A WeChat account not bound to a member yet: the sign-in by texted code that follows binds it.
WECHAT_SESSION_SALT = "huiji.wechat-bind"
WECHAT_SESSION_MAX_AGE = 600


@dataclass(frozen=True)
class SignedIn:
    member: Member
    token: str
    created: bool  # the member joined with this sign-in


@dataclass(frozen=True)
class BindRequired:
    """A WeChat account no member holds: `session` goes with the sign-in by texted code."""

    session: str


def member_sign_in(
    *,
    phone: str,
    code: str,
    ip: str | None = None,
    store_code: str = "",
    guide_code: str = "",
    referral_code: str = "",
    device: str = "",
    wechat_session: str = "",
    source: str = "miniprogram",
) -> SignedIn:
    """Sign in with the code texted to `phone`, the member joining now if there is none;
    from a store's or a guide's link (`store_code`, `guide_code`) and a referrer's
    (`referral_code`, with the `device` id the client sends), which count only for a
    member made now (`member_join_or_find`);
    with `wechat_session` (from `member_wechat_sign_in`) the WeChat account is bound too.

    The code is checked first, on its own and outside any transaction
    (`sms_code_verify`): a wrong one changes nothing but its count of tries, and a right
    one stays spent whatever follows, so it never signs in twice. The rest is one
    transaction: joined or found, WeChat ids linked, touched, a token issued; a refusal
    there (a frozen member, a closed store) leaves none of it."""
    wechat_user = _wechat_session_user(wechat_session)
    sms_code_verify(phone=phone, code=code, ip=ip)
    with transaction.atomic():
        member, created = member_join_or_find(
            phone=phone,
            source=source,
            store=store_by_code(store_code),
            guide=guide_by_code(guide_code),
            referrer=member_by_referral_code(referral_code),
            requester=requester_of(ip),
            device=device,
        )
        if wechat_user:
            member_identity_link(
                member=member, kind=MemberIdentity.Kind.WECHAT_OPENID, value=wechat_user["openid"]
            )
            if wechat_user.get("unionid"):
                member_identity_link(
                    member=member,
                    kind=MemberIdentity.Kind.WECHAT_UNIONID,
                    value=wechat_user["unionid"],
                )
        return _signed_in(member, created=created)


def member_wechat_sign_in(*, code: str) -> SignedIn | BindRequired:
    """Sign in with the code of wx.login: the member whose WeChat account it is (by openid,
    else by unionid, then the openid is linked too). A WeChat account no active member
    holds answers BindRequired, for a sign-in by texted code to bind it. WeChat is asked
    before any transaction opens."""
    user = wechat_provider().code_to_user(code)
    with transaction.atomic():
        member = member_find_by_identity(kind=MemberIdentity.Kind.WECHAT_OPENID, value=user.openid)
        if member is None and user.unionid:
            member = member_find_by_identity(
                kind=MemberIdentity.Kind.WECHAT_UNIONID, value=user.unionid
            )
        if member is None or member.status != Member.Status.ACTIVE:
            session = signing.dumps(
                {"openid": user.openid, "unionid": user.unionid}, salt=WECHAT_SESSION_SALT
            )
            return BindRequired(session=session)
        member_identity_link(
            member=member, kind=MemberIdentity.Kind.WECHAT_OPENID, value=user.openid
        )
        return _signed_in(member, created=False)


def _signed_in(member: Member, *, created: bool) -> SignedIn:
    member_touch(member=member)
    return SignedIn(member=member, token=member_token_issue(member=member), created=created)


def _wechat_session_user(session: str) -> dict | None:
    if not session:
        return None
    try:
        return signing.loads(session, salt=WECHAT_SESSION_SALT, max_age=WECHAT_SESSION_MAX_AGE)
    except signing.BadSignature as exc:
        raise WechatSessionExpired() from exc

"""How a member proves who they are: SMS codes, mini-program tokens, member codes (会员码)."""

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext as _

from apps.core.errors import Throttled
from apps.core.rows import columns, instance, row_one
from apps.core.sms import sms_send
from apps.members.errors import MemberCodeExpired, MemberNotFound, WrongCode
from apps.members.models import Member, MemberCodeUse, MemberToken, SmsCode

SMS_CODE_TTL = timedelta(minutes=5)
SMS_GAP_SECONDS = 60
SMS_PER_DAY = 10
SMS_WRONG_TRIES = 5
MEMBER_CODE_WINDOW = 60  # seconds; a code is accepted in its window and the next one


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def sms_test_codes() -> dict[str, str]:
    pairs = (item.split("=", 1) for item in settings.SMS_TEST_CODES.split(",") if "=" in item)
    return {phone.strip(): code.strip() for phone, code in pairs}


def sms_code_send(*, phone: str, ip: str | None = None) -> int:
    """Text a sign-in code to `phone` (normal form). Returns the seconds before the next one."""
    if phone in sms_test_codes():
        return SMS_GAP_SECONDS
    if not cache.add(f"sms-gap:{phone}", 1, SMS_GAP_SECONDS):
        raise Throttled(seconds=SMS_GAP_SECONDS)
    since = timezone.now() - timedelta(days=1)
    if SmsCode.objects.filter(phone=phone, created_at__gte=since).count() >= SMS_PER_DAY:
        raise Throttled(
            _("Too many codes for this number today. Please try again tomorrow."), seconds=3600
        )
    code = f"{secrets.randbelow(10**6):06d}"
    with transaction.atomic():
        SmsCode.objects.create(
            phone=phone,
            code_hash=_sha256(f"{phone}:{code}"),
            expires_at=timezone.now() + SMS_CODE_TTL,
            ip=ip,
        )
        sms_send(
            phone=phone,
            message=_("Your sign-in code is %(code)s, valid for 5 minutes.") % {"code": code},
        )
    return SMS_GAP_SECONDS


def sms_code_verify(*, phone: str, code: str) -> None:
    """Accept the code once, or raise WrongCode. Five wrong tries spend the code.

    Runs outside any transaction on purpose: a wrong try must count even though the request fails.
    """
    test_code = sms_test_codes().get(phone)
    if test_code is not None:
        if not constant_time_compare(code, test_code):
            raise WrongCode()
        return
    sent = (
        SmsCode.objects.filter(phone=phone, used_at__isnull=True, expires_at__gt=timezone.now())
        .order_by("-created_at")
        .first()
    )
    if sent is None or sent.wrong_tries >= SMS_WRONG_TRIES:
        raise WrongCode()
    if not constant_time_compare(sent.code_hash, _sha256(f"{phone}:{code}")):
        SmsCode.objects.filter(pk=sent.pk).update(wrong_tries=F("wrong_tries") + 1)
        raise WrongCode()
    if not SmsCode.objects.filter(pk=sent.pk, used_at__isnull=True).update(used_at=timezone.now()):
        raise WrongCode()  # the same code, used by a request that came first


def member_token_issue(*, member: Member) -> str:
    raw = secrets.token_urlsafe(32)
    MemberToken.objects.create(
        member=member,
        key_hash=_sha256(raw),
        expires_at=timezone.now() + timedelta(days=settings.MEMBER_TOKEN_TTL_DAYS),
    )
    return raw


_LIVE_TOKEN_MEMBER_SQL = (
    f"SELECT {columns(Member, 'm')} FROM {Member._meta.db_table} m "
    f"JOIN {MemberToken._meta.db_table} t ON t.member_id = m.id "
    "WHERE t.key_hash = %s AND t.revoked_at IS NULL AND t.expires_at > %s AND m.status = %s"
)


def member_token_member(raw: str) -> Member | None:
    """The active member a live token belongs to, or None. Every mini-program request
    asks this, so it is written by hand (apps.core.rows)."""
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    row = row_one(_LIVE_TOKEN_MEMBER_SQL, [_sha256(raw), now, Member.Status.ACTIVE])
    return instance(Member, row) if row else None


def member_token_revoke(*, raw: str) -> None:
    MemberToken.objects.filter(key_hash=_sha256(raw), revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )


def member_tokens_revoke_all(*, member: Member) -> None:
    MemberToken.objects.filter(member=member, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )


# A member code is 18 digits: "6", the member id in 9 digits, then 8 digits of an HMAC of
# the id and the minute it was made, keyed by the server's secret. It needs no storage to
# check, cannot be forged without the secret, and is spent by the checkout that uses it.


def _member_code_mac(member_id: int, window: int) -> str:
    digest = salted_hmac("huiji.member-code", f"{member_id}:{window}", algorithm="sha256").digest()
    return f"{int.from_bytes(digest[:8], 'big') % 10**8:08d}"


def _window(moment: datetime) -> int:
    return int(moment.timestamp()) // MEMBER_CODE_WINDOW


def member_code_issue(*, member: Member, now: datetime | None = None) -> tuple[str, datetime]:
    window = _window(now or timezone.now())
    expires_at = datetime.fromtimestamp(
        (window + 2) * MEMBER_CODE_WINDOW, tz=timezone.get_current_timezone()
    )
    return f"6{member.pk:09d}{_member_code_mac(member.pk, window)}", expires_at


def member_code_member(code: str, *, now: datetime | None = None) -> Member:
    """The member a code belongs to. MemberNotFound for a forged code, MemberCodeExpired for
    an old or spent one."""
    code = (code or "").strip()
    if len(code) != 18 or not code.isdigit() or code[0] != "6":
        raise MemberNotFound()
    member_id, mac, window = int(code[1:10]), code[10:], _window(now or timezone.now())
    if hmac.compare_digest(mac, _member_code_mac(member_id, window)) or hmac.compare_digest(
        mac, _member_code_mac(member_id, window - 1)
    ):
        if MemberCodeUse.objects.filter(code=code).exists():
            raise MemberCodeExpired()
        member = Member.objects.filter(pk=member_id, status=Member.Status.ACTIVE).first()
        if member is None:
            raise MemberNotFound()
        return member
    if any(
        hmac.compare_digest(mac, _member_code_mac(member_id, window - age)) for age in range(2, 60)
    ):
        raise MemberCodeExpired()
    raise MemberNotFound()


def member_code_spend(*, code: str, store=None, now: datetime | None = None) -> Member:
    """Use a member code for one checkout: a second checkout with it is refused."""
    member = member_code_member(code, now=now)
    try:
        with transaction.atomic():
            MemberCodeUse.objects.create(code=code, member=member, store=store)
    except IntegrityError as exc:
        raise MemberCodeExpired() from exc
    return member

"""How a member proves who they are: SMS sign-in codes, mini-program tokens, member codes
(会员码), codes texted for a till; and the one rule by which a till or a counter finds the
member it serves and whether that member is there to spend (`member_identify`)."""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import connections
from django.db.models import F
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_variables

from apps.core.clients import requester_of
from apps.core.counters import count_down, count_up
from apps.core.errors import Throttled
from apps.core.rows import column, columns, database_for_read, instance, row_insert, table
from apps.core.sms import SmsMaybeSent, SmsUnavailable, sms_send_now
from apps.members.errors import (
    MemberCodeExpired,
    MemberCodeNotTheirs,
    MemberNotFound,
    MemberNotPresent,
    WrongCode,
)
from apps.members.models import Member, MemberCode, MemberOtp, MemberToken, SmsCode
from apps.members.selectors import member_active, member_by_phone
from apps.stores.models import Store
from apps.stores.scoping import AccessScope

DAY = 24 * 3600

# Sign-in codes. Whoever asks for a code, it goes to the number's own phone; the limits stop
# a stranger from texting a number without end (SMS bombing) or guessing its code, and are
# kept per requester (client address, an IPv6 one by its /64: apps.core.clients.requester_of)
# wherever a number-wide limit would let a stranger lock the member out:
SMS_CODE_TTL = timedelta(minutes=5)
SMS_GAP_SECONDS = 60  # one code a minute, per number and requester
SMS_PER_REQUESTER_DAY = 3  # codes a day per number and requester: a stranger gets these...
SMS_PER_DAY = 10  # ...of the number's ten a day, so it takes four addresses to use them up
SMS_WRONG_TRIES = 5  # wrong codes per number and requester, then that requester waits
SMS_LOCK_SECONDS = 15 * 60
# Wrong codes for a number from all requesters together: past ten within a minute, every try
# for the number waits for the minute to end, the member's too, but no code is spent, so
# strangers guessing cannot void the code the member was just sent. This bounds guessing
# however many addresses a stranger holds: at most 60 wrong tries in a code's five minutes,
# each against the number's live codes (at most ten a day are sent), so one in 16,000 for a
# code and at worst one in 1,600 a day for a number whose ten codes were all sent at once.
SMS_NUMBER_WRONG_TRIES = 10
SMS_NUMBER_WAIT_SECONDS = 60
# ...and on the code itself, what that limit lets through in a code's life: reached only if
# the cache forgot its counts (a restart), then the code is spent.
SMS_CODE_WRONG_TRIES = SMS_NUMBER_WRONG_TRIES * (
    int(SMS_CODE_TTL.total_seconds()) // SMS_NUMBER_WAIT_SECONDS + 1
)

# Member codes: random, stored hashed, each spent by one checkout.
MEMBER_CODE_TTL = timedelta(seconds=120)

# Codes a till has texted to a member, who reads it out to spend at that store.
MEMBER_OTP_TTL = timedelta(minutes=5)
MEMBER_OTP_GAP_SECONDS = 60  # per member and store
MEMBER_OTP_PER_STORE_DAY = 5  # per member and store...
MEMBER_OTP_PER_DAY = 10  # ...of the member's ten a day from all stores
MEMBER_OTP_TRIES = 5  # tries at one code, right or wrong


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _six_digits() -> str:
    return f"{secrets.randbelow(10**6):06d}"


def sms_test_codes() -> dict[str, str]:
    pairs = (item.split("=", 1) for item in settings.SMS_TEST_CODES.split(",") if "=" in item)
    return {phone.strip(): code.strip() for phone, code in pairs}


@sensitive_variables("code")
def sms_code_send(*, phone: str, ip: str | None = None) -> int:
    """Text a sign-in code to `phone` (normal form), asked for from the address `ip`.
    Returns the seconds before this requester may ask again. SmsUnavailable when the
    provider did not send it (README.md, "Operations"): then nothing is kept or counted;
    when it may have (no answer in time), the code is kept and counted.
    Runs outside any transaction: the code is kept before it is texted."""
    if phone in sms_test_codes():
        return SMS_GAP_SECONDS
    requester = requester_of(ip)
    if not cache.add(f"sms-gap:{phone}:{requester}", 1, SMS_GAP_SECONDS):
        raise Throttled(seconds=SMS_GAP_SECONDS)
    if (
        count_up(f"sms-day:{phone}:{requester}", DAY) > SMS_PER_REQUESTER_DAY
        or count_up(f"sms-day:{phone}", DAY) > SMS_PER_DAY
    ):
        raise Throttled(
            _("Too many codes for this number today. Please try again tomorrow."), seconds=3600
        )
    code = _six_digits()
    kept = SmsCode.objects.create(
        phone=phone,
        code_hash=_sha256(f"{phone}:{code}"),
        expires_at=timezone.now() + SMS_CODE_TTL,
        ip=ip,
    )
    _text_or_take_back(
        kept,
        gap=f"sms-gap:{phone}:{requester}",
        days=[f"sms-day:{phone}:{requester}", f"sms-day:{phone}"],
        phone=phone,
        message=_("Your sign-in code is %(code)s, valid for 5 minutes.") % {"code": code},
        template="sign_in",
        params={"code": code, "minutes": "5"},
    )
    return SMS_GAP_SECONDS


@sensitive_variables("text")
def _text_or_take_back(kept, *, gap: str, days: list[str], **text) -> None:
    """Text the code `kept` stands for (sms_send_now). When it did not go, it is as if never
    asked for: the code is deleted, its send gap and day counts `days` given back, so the
    asker may ask again once the provider is back; SmsUnavailable (503) tells them. When it
    may have gone (the provider took the request and did not answer in time), the code
    stays usable and counted, gap and day caps holding however slow the provider:
    SmsMaybeSent (503 too)."""
    try:
        sms_send_now(**text)
    except SmsMaybeSent:
        raise
    except SmsUnavailable:
        kept.delete()
        cache.delete(gap)
        for key in days:
            count_down(key)
        raise


def sms_code_verify(*, phone: str, code: str, ip: str | None = None) -> None:
    """Accept a code sent to `phone` once, or raise WrongCode; Throttled for a requester
    who sent SMS_WRONG_TRIES wrong codes for this number lately, and for anyone while the
    number has had SMS_NUMBER_WRONG_TRIES within the minute (test numbers too).

    A try is counted before the code is compared, per requester and then for the number,
    each in one atomic step, so requests at once get no more tries between them; a try the
    number's limit refused, or a right code, gives its requester's count back. Every live
    code of the number is accepted, so a code a stranger has sent since does not void the
    member's. Runs outside any transaction on purpose: a wrong try counts though the
    request fails.
    """
    tries = f"sms-tries:{phone}:{requester_of(ip)}"
    if count_up(tries, SMS_LOCK_SECONDS) > SMS_WRONG_TRIES:
        raise Throttled(
            _("Too many wrong codes. Please try again in %(minutes)d minutes."),
            seconds=SMS_LOCK_SECONDS,
            minutes=SMS_LOCK_SECONDS // 60,
        )
    number_tries = f"sms-number-tries:{phone}"
    if count_up(number_tries, SMS_NUMBER_WAIT_SECONDS) > SMS_NUMBER_WRONG_TRIES:
        count_down(tries)
        raise Throttled(
            _("Too many wrong codes for this number just now. Please try again in a minute."),
            seconds=SMS_NUMBER_WAIT_SECONDS,
        )
    if not _sms_code_use(phone, code):
        raise WrongCode()
    count_down(tries)


def _sms_code_use(phone: str, code: str) -> bool:
    test_code = sms_test_codes().get(phone)
    if test_code is not None:
        return constant_time_compare(code, test_code)
    now = timezone.now()
    live = SmsCode.objects.filter(
        phone=phone,
        used_at__isnull=True,
        expires_at__gt=now,
        wrong_tries__lt=SMS_CODE_WRONG_TRIES,
    )
    digest = _sha256(f"{phone}:{code}")
    sent = list(live.only("pk", "code_hash"))
    right = next((s for s in sent if constant_time_compare(s.code_hash, digest)), None)
    if right is None:
        live.filter(pk__in=[s.pk for s in sent]).update(wrong_tries=F("wrong_tries") + 1)
        return False
    # Used once, and only while it has tries left: the same WHERE as the wrong tries', so a
    # right guess that comes after a code's last wrong try is refused like the others.
    return bool(live.filter(pk=right.pk).update(used_at=now))


def member_token_issue(*, member: Member) -> str:
    raw = secrets.token_urlsafe(32)
    MemberToken.objects.create(
        member=member,
        key_hash=_sha256(raw),
        expires_at=timezone.now() + timedelta(days=settings.MEMBER_TOKEN_TTL_DAYS),
    )
    return raw


_LIVE_TOKEN_MEMBER_SQL = (
    f"SELECT {columns(Member, 'm')} FROM {table(Member)} m "
    f"JOIN {table(MemberToken)} t ON t.{column(MemberToken, 'member')} = m.{column(Member, 'pk')} "
    f"WHERE t.{column(MemberToken, 'key_hash')} = %s "
    f"AND t.{column(MemberToken, 'revoked_at')} IS NULL "
    f"AND t.{column(MemberToken, 'expires_at')} > %s AND m.{column(Member, 'status')} = %s"
)


def member_token_member(raw: str) -> Member | None:
    """The active member a live token belongs to, or None. Every mini-program request
    asks this, so it is written by hand (apps.core.rows)."""
    using = database_for_read(MemberToken)
    database = connections[using]
    now = database.ops.adapt_datetimefield_value(timezone.now())
    with database.cursor() as cursor:
        cursor.execute(_LIVE_TOKEN_MEMBER_SQL, [_sha256(raw), now, Member.Status.ACTIVE])
        row = cursor.fetchone()
    return instance(Member, row, using) if row else None


def member_token_revoke(*, raw: str) -> None:
    MemberToken.objects.filter(key_hash=_sha256(raw), revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )


def member_tokens_revoke_all(*, member: Member) -> None:
    MemberToken.objects.filter(member=member, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )


# A member code is 18 digits, as a barcode scanner types them: "6" and 17 random ones. Each
# call makes a new one; only its hash is kept, with its member and expiry. The till looks
# at it (`member_code_member`, one statement) and the checkout spends it (one conditional
# UPDATE in the checkout's transaction), so it pays for one sale.

_CODE_MEMBER_SQL = (
    f"SELECT {columns(Member, 'm')}, c.{column(MemberCode, 'used_at')} IS NULL "
    f"AND c.{column(MemberCode, 'expires_at')} > %s FROM {table(MemberCode)} c "
    f"JOIN {table(Member)} m ON m.{column(Member, 'pk')} = c.{column(MemberCode, 'member')} "
    f"WHERE c.{column(MemberCode, 'code_hash')} = %s AND m.{column(Member, 'status')} = %s"
)


def member_code_issue(*, member: Member, now: datetime | None = None) -> tuple[str, datetime]:
    """A new member code for the till, and when it expires."""
    now = now or timezone.now()
    code = f"6{secrets.randbelow(10**17):017d}"
    expires_at = now + MEMBER_CODE_TTL
    row_insert(MemberCode(code_hash=_sha256(code), member=member, expires_at=expires_at))
    return code, expires_at


def _member_code_hash(code: str) -> str:
    code = (code or "").strip()
    if len(code) != 18 or not code.isdigit() or code[0] != "6":
        raise MemberNotFound()
    return _sha256(code)


def member_code_member(code: str, *, now: datetime | None = None) -> Member:
    """The member a code belongs to, without spending it. MemberNotFound for a code never
    made (or a gone member's), MemberCodeExpired for an old or spent one."""
    digest = _member_code_hash(code)
    using = database_for_read(MemberCode)
    database = connections[using]
    now = database.ops.adapt_datetimefield_value(now or timezone.now())
    with database.cursor() as cursor:
        cursor.execute(_CODE_MEMBER_SQL, [now, digest, Member.Status.ACTIVE])
        row = cursor.fetchone()
    if row is None:
        raise MemberNotFound()
    if not row[-1]:
        raise MemberCodeExpired()
    return instance(Member, row[:-1], using)


def member_code_check(*, member: Member, code: str) -> None:
    """That `code` is a live member code of `member`'s (to draw it again): another's is
    not found, so that nothing is learnt of whose it is; an old or spent one has expired."""
    if member_code_member(code).pk != member.pk:
        raise MemberNotFound()


def member_code_spend(*, code: str, store: Store | None = None, now=None) -> None:
    """Use a member code for one checkout, in its transaction: a second one is refused."""
    if not _member_code_use(code, store, now or timezone.now()):
        raise MemberCodeExpired()


def member_code_retire(*, code: str, store: Store | None = None, now=None) -> None:
    """Spend a member code if it is still live, with a checkout that did not need it to be:
    a sale that only earns spends the code that identified its member, as the POS does, so
    no one can use the code again."""
    _member_code_use(code, store, now or timezone.now())


def _member_code_use(code: str, store: Store | None, now) -> int:
    return MemberCode.objects.filter(
        code_hash=_member_code_hash(code), used_at__isnull=True, expires_at__gt=now
    ).update(used_at=now, store=store)


def member_codes_purge(*, now=None, batch: int = 5000) -> int:
    """Forget member codes and texted codes a day after they expired, in batches (every
    `me/code` makes a row). Safe to run again."""
    cutoff = (now or timezone.now()) - timedelta(days=1)
    deleted = 0
    for model in (MemberCode, MemberOtp):
        while True:
            old = model.objects.filter(expires_at__lt=cutoff).values("pk")[:batch]
            count, _by_model = model.objects.filter(pk__in=old).delete()
            deleted += count
            if count < batch:
                break
    return deleted


# Codes a till asks to text to a member (members/otp): bound to the member and to the store
# that asked, five minutes, used once. Tries are counted in the cache, not on the row: the
# sale that tries a code rolls back when the code is wrong, and would take its count with it.


@sensitive_variables("code")
def member_otp_send(*, member: Member, store: Store) -> int:
    """Text the member a code to read out at `store`'s till. Returns the seconds before the
    store may ask again. SmsUnavailable when the provider did not send it: then nothing is
    kept or counted, and the till may ask again at once (but when it may have sent it, no
    answer in time, the code is kept and counted: the till waits out the gap). Runs outside
    any transaction: the code is kept (committed) before it is texted, and texted while the
    till waits, so the till knows whether it went; a process that dies in between leaves a
    code nobody got, which expires unused, and the till, its answer lost, asks again after
    the gap."""
    if not cache.add(f"otp-gap:{member.pk}:{store.pk}", 1, MEMBER_OTP_GAP_SECONDS):
        raise Throttled(seconds=MEMBER_OTP_GAP_SECONDS)
    if (
        count_up(f"otp-day:{member.pk}:{store.pk}", DAY) > MEMBER_OTP_PER_STORE_DAY
        or count_up(f"otp-day:{member.pk}", DAY) > MEMBER_OTP_PER_DAY
    ):
        raise Throttled(
            _("Too many codes for this member today. Ask for their member code instead."),
            seconds=3600,
        )
    code = _six_digits()
    now = timezone.now()
    kept = MemberOtp.objects.create(
        member=member,
        store=store,
        code_hash=_sha256(f"{member.pk}:{store.pk}:{code}"),
        created_at=now,
        expires_at=now + MEMBER_OTP_TTL,
    )
    _text_or_take_back(
        kept,
        gap=f"otp-gap:{member.pk}:{store.pk}",
        days=[f"otp-day:{member.pk}:{store.pk}", f"otp-day:{member.pk}"],
        phone=member.phone,
        message=_(
            "%(store)s asks to use your points. Your code is %(code)s, valid for 5 minutes: "
            "tell it only to the cashier in front of you."
        )
        % {"store": store.name, "code": code},
        template="till_code",
        params={"store": store.name, "code": code, "minutes": "5"},
    )
    return MEMBER_OTP_GAP_SECONDS


def _member_otp_check(*, member: Member, store: Store, code: str, now) -> MemberOtp:
    """The live code `store` had texted to `member`, if `code` is it; else WrongCode."""
    otp = (
        MemberOtp.objects.filter(member=member, store=store, used_at__isnull=True)
        .filter(expires_at__gt=now)
        .order_by("-created_at")
        .first()
    )
    if otp is None or count_up(f"otp-tries:{otp.pk}", DAY) > MEMBER_OTP_TRIES:
        raise WrongCode()
    if not constant_time_compare(otp.code_hash, _sha256(f"{member.pk}:{store.pk}:{code}")):
        raise WrongCode()
    return otp


# Who the till or counter serves, and whether they are there to spend.


@dataclass(frozen=True)
class Identified:
    """A member a till or a counter serves, and the proof, if any, that they are there:
    a member code they showed or a code texted to them that they read out."""

    member: Member
    member_code: str = ""
    otp: MemberOtp | None = None

    @property
    def present(self) -> bool:
        return bool(self.member_code or self.otp)


def member_identify(
    *,
    store: Store,
    member_id: int | None = None,
    phone: str = "",
    member_code: str = "",
    otp: str = "",
    scope: AccessScope | None = None,
    now=None,
) -> Identified | None:
    """The one rule by which a till (POS API) or a counter (dashboard) finds its member.

    By member code: any active member, who is present (the code is looked at, not spent:
    the checkout spends it); with `member_id` too, only if the code is that member's. By
    member id or phone: the member earns, but is present only with `otp`, the code this
    store had texted to them. By phone within `scope`: only the members whose home store
    that person may see; others show their member code. None when no way is given: a
    sale without a member."""
    now = now or timezone.now()
    if member_code:
        member = member_code_member(member_code, now=now)
        if member_id and member.pk != member_id:
            raise MemberCodeNotTheirs()
        return Identified(member=member, member_code=member_code)
    if member_id:
        member = member_active(member_id)
    elif phone:
        member = member_by_phone(phone, scope=scope)
    else:
        return None
    if member is None:
        raise MemberNotFound()
    if otp:
        return Identified(
            member=member, otp=_member_otp_check(member=member, store=store, code=otp, now=now)
        )
    return Identified(member=member)


def member_presence_require(identified: Identified | None, *, points: int) -> None:
    """Points (and later stored value) are spent only for a member who is present: a store
    paid for the points it takes must not take them alone (DESIGN.md, Trust)."""
    if identified is not None and points > 0 and not identified.present:
        raise MemberNotPresent()


def member_presence_spend(identified: Identified | None, *, store: Store, now=None) -> None:
    """Spend the proof a checkout was given, in the checkout's transaction: a member code or
    a texted code pays for one sale."""
    if identified is None:
        return
    now = now or timezone.now()
    if identified.member_code:
        member_code_spend(code=identified.member_code, store=store, now=now)
    elif identified.otp is not None and not MemberOtp.objects.filter(
        pk=identified.otp.pk, used_at__isnull=True, expires_at__gt=now
    ).update(used_at=now):
        raise WrongCode()

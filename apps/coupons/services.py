"""Writing coupons: issue (claim, exchange, gift, event, batch), redeem, and the order's
lock → use → release → restore. The stock is one conditional UPDATE on the template,
taken last in each transaction, so the hot row is locked only until the commit."""

import contextlib
from datetime import datetime, timedelta
from typing import NoReturn

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.core.audit import audit_record
from apps.core.codes import readable_code
from apps.core.events import events_emit
from apps.core.reference import held, held_forget
from apps.core.rows import row_insert
from apps.coupons.errors import (
    AlreadyUsed,
    CouponExpired,
    CouponLocked,
    CouponNotFound,
    CouponNotUsable,
    CouponTemplateNotFound,
    LimitReached,
    NotEligible,
    SoldOut,
)
from apps.coupons.models import Coupon, CouponTemplate, TemplateCounter
from apps.coupons.rules import validity
from apps.members.models import Member
from apps.points.models import Entry
from apps.points.selectors import entry_by_key
from apps.points.services import points_redeem
from apps.stores.models import Store
from apps.stores.scoping import access_scope
from apps.tiers.selectors import member_tier

_UNKNOWN = object()
CODE_LENGTH = 16  # 31^16 ≈ 7·10^23: not guessable, still typeable from the counter screen


def coupon_code() -> str:
    return readable_code(CODE_LENGTH)


def eligibility_problem(
    template: CouponTemplate, member: Member, *, now: datetime, tier=_UNKNOWN
) -> str:
    """Why this member may not have this template ('' when they may). Uses the template's
    prefetched eligibility lists; pass the member's `tier` when checking many templates."""
    tiers, stores, distributors = template.eligibility
    if tiers and (member_tier(member) if tier is _UNKNOWN else tier) not in tiers:
        return _("it is for %(tiers)s members") % {"tiers": "、".join(t.name for t in tiers)}
    if template.new_members_only and (
        member.returning or member.joined_at < now - timedelta(days=settings.COUPON_NEW_MEMBER_DAYS)
    ):
        return _("it is for new members")
    if stores or distributors:
        home = member.home_store
        if home is None or (home.pk not in stores and home.distributor_id not in distributors):
            return _("it is for members of certain stores")
    return ""


def _claim_window_problem(template: CouponTemplate, now: datetime) -> str:
    if not template.active:
        return _("it is no longer offered")
    if template.claim_starts_at and now < template.claim_starts_at:
        return _("claims have not opened yet")
    if template.claim_ends_at and now >= template.claim_ends_at:
        return _("claims have closed")
    if template.valid_until and now >= template.valid_until:
        return _("it is no longer offered")
    return ""


def stock_reserve(
    template: CouponTemplate, *, count: int = 1, store_id: int | None, now, bulk: bool = False
) -> int:
    """Take up to `count` from the stock, and for a member's own issue (not a `bulk` one by
    HQ or a job) from the day's and the store's limits too. Conditional UPDATEs only: the
    database never hands out more than there is. Returns how many were granted; 0 means
    none, and the caller rolls back."""
    granted = count
    # A member's own issue stops the moment HQ withdraws the template, whatever a cache holds.
    stocked = CouponTemplate.objects.filter(pk=template.pk, **({} if bulk else {"active": True}))
    if template.total_stock is not None:
        granted = min(count, template.total_stock)  # a batch takes what is left, not all or none
        while granted and not stocked.filter(issued__lte=F("total_stock") - granted).update(
            issued=F("issued") + granted
        ):
            left = stocked.values_list("total_stock", "issued").first() or (0, 0)
            granted = min(granted, max(left[0] - left[1], 0))
        if not granted:
            return 0
    elif not stocked.update(issued=F("issued") + granted):
        return 0
    if bulk:
        return granted  # HQ's batches and birthday gifts are not held to those limits
    for scope, limit in (
        (f"day:{timezone.localdate(now).isoformat()}", template.daily_limit),
        (f"store:{store_id}" if store_id else None, template.per_store_limit),
    ):
        if scope is None or limit is None:
            continue
        TemplateCounter.objects.get_or_create(template=template, scope=scope)
        if not TemplateCounter.objects.filter(
            template=template, scope=scope, issued__lte=limit - granted
        ).update(issued=F("issued") + granted):
            return 0  # the caller's transaction rolls the stock back with it
    return granted


def coupon_build(
    template: CouponTemplate,
    member_id: int,
    *,
    source: str,
    source_key: str,
    store_id: int | None,
    now: datetime,
) -> Coupon:
    valid_from, valid_until = validity(
        issued_at=now,
        valid_from=template.valid_from,
        valid_until=template.valid_until,
        valid_days=template.valid_days,
    )
    return Coupon(
        template=template,
        member_id=member_id,
        code=coupon_code(),
        source=source,
        source_key=source_key,
        store_id=store_id,
        issued_at=now,
        valid_from=valid_from,
        valid_until=valid_until,
    )


def _issue_one(template, member, *, source, source_key, store_id, now) -> Coupon:
    """Take one from the stock and insert the coupon, both or neither. The coupon's unique
    key settles who got a slot; the stock is taken in the same statement when only the
    total stock limits the template, else last in the transaction (see stock_reserve)."""
    coupon = coupon_build(
        template, member.pk, source=source, source_key=source_key, store_id=store_id, now=now
    )
    if _only_total_stock(template):
        if not row_insert(coupon, provided=_stock_take(template)):
            raise SoldOut()
        return coupon
    coupon.save(force_insert=True)
    if not stock_reserve(template, store_id=store_id, now=now):
        raise SoldOut()
    return coupon


def _only_total_stock(template: CouponTemplate) -> bool:
    return template.daily_limit is None and template.per_store_limit is None


def _stock_take(template: CouponTemplate) -> tuple[str, list]:
    """stock_reserve's conditional UPDATE for one coupon, as SQL for row_insert(provided=)."""
    return (
        f"UPDATE {CouponTemplate._meta.db_table} SET issued = issued + 1 "
        "WHERE id = %s AND active AND (total_stock IS NULL OR issued < total_stock) RETURNING id",
        [template.pk],
    )


def _issue_in_a_free_slot(template, member, *, source: str, now, then=None) -> Coupon:
    """Claims and exchanges of a member share `per_member_limit` slots, each a unique key:
    the insert into a taken slot fails, and the next is tried — no count first, so two taps
    at once can never both get the last slot. `then(coupon)` runs in the same transaction.
    A plain claim of a template with only a total stock is one statement, which needs no
    transaction of its own (a savepoint if the caller has one open)."""
    one_statement = (
        then is None
        and _only_total_stock(template)
        and not transaction.get_connection().in_atomic_block
    )
    for slot in range(1, template.per_member_limit + 1):
        try:
            with contextlib.nullcontext() if one_statement else transaction.atomic():
                coupon = _issue_one(
                    template,
                    member,
                    source=source,
                    source_key=f"claim:{template.pk}:{member.pk}:{slot}",
                    store_id=member.home_store_id,
                    now=now,
                )
                if then is not None:
                    then(coupon)
                return coupon
        except IntegrityError:
            continue
    raise LimitReached()


def _check_claim(template: CouponTemplate, member: Member, now: datetime) -> None:
    if problem := _claim_window_problem(template, now):
        raise NotEligible(reason=problem)
    if template.remaining == 0:  # answered without touching the hot row
        _remember_sold_out(template.pk)
        raise SoldOut()
    if problem := eligibility_problem(template, member, now=now):
        raise NotEligible(reason=problem)


SOLD_OUT_SECONDS = 5


def sold_out_key(template_id: int) -> str:
    return f"coupon-sold-out:{template_id}"


def _remember_sold_out(template_id: int) -> None:
    cache.set(sold_out_key(template_id), True, SOLD_OUT_SECONDS)
    held_forget(sold_out_key(template_id))


def sold_out_lately(template_id: int) -> bool:
    """Whether a claim found the template sold out in the last SOLD_OUT_SECONDS. Each process
    holds the answer for a second (apps.core.reference `held`), so a drop's claims do not
    each ask the cache: a process that has not heard sends the database at most a second
    of taps, and the first one it refuses tells it."""
    key = sold_out_key(template_id)
    return held(key, lambda: bool(cache.get(key)))


def coupon_claim(*, template: CouponTemplate, member: Member, now=None) -> Coupon:
    """领券: a member claims a claimable template in the mini-program.

    Once the database has said a template is sold out, the cache says so for
    SOLD_OUT_SECONDS (`sold_out_lately`), and the API answers the thousands of taps that
    follow without touching the database. The cache only ever refuses: whether a coupon is
    issued is decided by the conditional UPDATE alone, so nothing can be oversold whatever
    the cache holds."""
    now = now or timezone.now()
    if not template.claimable:
        raise NotEligible(reason=_("it cannot be claimed"))
    _check_claim(template, member, now)
    try:
        return _issue_in_a_free_slot(template, member, source=Coupon.Source.CLAIM, now=now)
    except SoldOut:
        _no_stock(template)


def _no_stock(template: CouponTemplate) -> NoReturn:
    """A claim or an exchange found no stock to take: the template was withdrawn since it
    was cached, or it is sold out (remembered when all of it is gone)."""
    total, issued, active = CouponTemplate.objects.values_list(
        "total_stock", "issued", "active"
    ).get(pk=template.pk)
    if not active:
        raise CouponTemplateNotFound()
    if total is not None and total <= issued:  # not a day's or a store's limit: all gone
        _remember_sold_out(template.pk)
    raise SoldOut()


def coupon_exchange(*, template: CouponTemplate, member: Member, key: str, now=None) -> Coupon:
    """积分兑换: points for a coupon, both or neither. A retried key returns the same coupon."""
    now = now or timezone.now()
    if not template.points_price:
        raise NotEligible(reason=_("it cannot be exchanged for points"))
    ledger_key = f"coupon-exchange:{template.pk}:{member.pk}:{key}"
    if (paid := entry_by_key(ledger_key)) is not None:
        return Coupon.objects.get(pk=paid.cause_id)
    _check_claim(template, member, now)

    def pay(coupon):
        entry = points_redeem(
            member=member,
            amount=template.points_price,
            key=ledger_key,
            cause_kind=Entry.CauseKind.COUPON,
            cause_id=coupon.pk,
            description=f"兑换优惠券「{template.name}」",
            kind=Entry.Kind.EXCHANGE,
        )
        if entry.cause_id != coupon.pk:  # a retry racing the first: it paid already
            raise _PaidBefore(entry.cause_id)

    try:
        return _issue_in_a_free_slot(
            template, member, source=Coupon.Source.EXCHANGE, now=now, then=pay
        )
    except SoldOut:
        _no_stock(template)
    except _PaidBefore as paid:
        return Coupon.objects.get(pk=paid.args[0])


class _PaidBefore(Exception):
    """This exchange key already bought a coupon: the one just made is rolled back."""


def coupon_gift(
    *, template: CouponTemplate, member: Member, store: Store, actor, key: str, now=None
) -> Coupon:
    """A store gives one of its allowance to a member; the key makes a retry give nothing more."""
    now = now or timezone.now()
    if not access_scope(actor).allows_store(store.pk):
        raise CouponNotUsable(reason=_("you may only give your own store's allowance"))
    if template.per_store_limit is None:
        raise NotEligible(reason=_("stores have no allowance of it"))
    source_key = f"gift:{store.pk}:{key}"
    if (existing := Coupon.objects.filter(source_key=source_key).first()) is not None:
        return existing
    if problem := _claim_window_problem(template, now) or eligibility_problem(
        template, member, now=now
    ):
        raise NotEligible(reason=problem)
    try:
        with transaction.atomic():
            return _issue_one(
                template,
                member,
                source=Coupon.Source.STORE_GIFT,
                source_key=source_key,
                store_id=store.pk,
                now=now,
            )
    except IntegrityError:
        return Coupon.objects.get(source_key=source_key)


def coupon_issue_for_event(
    *, template: CouponTemplate, member: Member, key: str, now=None
) -> Coupon | None:
    """An automatic issue (join gift, birthday, tier upgrade, referral): once per key; a member
    it is not for, or a template out of stock, gets nothing, quietly."""
    now = now or timezone.now()
    source_key = f"event:{key}"
    if Coupon.objects.filter(source_key=source_key).exists():
        return None
    if _claim_window_problem(template, now) or eligibility_problem(template, member, now=now):
        return None
    try:
        with transaction.atomic():
            return _issue_one(
                template,
                member,
                source=Coupon.Source.EVENT,
                source_key=source_key,
                store_id=None,
                now=now,
            )
    except (IntegrityError, SoldOut):
        return None


def _locked_coupon(code: str) -> Coupon:
    coupon = (
        Coupon.objects.select_for_update(of=("self",))
        .select_related("template")
        .filter(code=code.strip().upper())
        .first()
    )
    if coupon is None or coupon.status == Coupon.Status.VOID:
        raise CouponNotFound()
    return coupon


def usability_problem(coupon: Coupon, *, store: Store | None, channel: str, now) -> str:
    """Why the coupon cannot be used in this store and channel now ('' when it can). The
    template's usable stores must be prefetched or loaded."""
    template = coupon.template
    if channel not in template.channel_set:
        return _("it cannot be used in this channel")
    stores = {s.pk for s in template.usable_stores.all()}
    if stores and (store is None or store.pk not in stores):
        return _("it cannot be used in this store")
    if now < coupon.valid_from:
        return _("it can be used from %(date)s") % {
            "date": timezone.localtime(coupon.valid_from).strftime("%Y-%m-%d %H:%M")
        }
    return ""


def _check_usable(coupon: Coupon, *, store, channel: str, now) -> None:
    if coupon.status == Coupon.Status.USED:
        raise AlreadyUsed()
    if coupon.status == Coupon.Status.LOCKED:
        raise CouponLocked()
    if coupon.status == Coupon.Status.EXPIRED or now >= coupon.valid_until:
        raise CouponExpired()
    if problem := usability_problem(coupon, store=store, channel=channel, now=now):
        raise CouponNotUsable(reason=problem)


@transaction.atomic
def coupon_redeem(
    *, code: str, store: Store, external_id: str = "", channel: str = "store", now=None
) -> Coupon:
    """核销 at the counter: the cashier scans or types the code. Used once, ever."""
    now = now or timezone.now()
    coupon = _locked_coupon(code)
    _check_usable(coupon, store=store, channel=channel, now=now)
    Coupon.objects.filter(pk=coupon.pk).update(
        status=Coupon.Status.USED, used_at=now, used_store=store, used_for=external_id or "counter"
    )
    coupon.refresh_from_db()
    return coupon


def _held_for_order(
    codes: list[str], member: Member, order_ref: str, store, channel: str, now
) -> list[Coupon]:
    """The order's coupons, locked in primary-key order and checked usable here and now."""
    wanted = sorted({code.strip().upper() for code in codes})
    coupons = list(
        Coupon.objects.select_for_update(of=("self",))
        .select_related("template")
        .filter(code__in=wanted)
        .order_by("pk")
    )
    if len(coupons) != len(wanted) or any(c.member_id != member.pk for c in coupons):
        raise CouponNotFound()
    for coupon in coupons:
        if coupon.status == Coupon.Status.LOCKED and coupon.locked_for == order_ref:
            continue  # this order's retry
        _check_usable(coupon, store=store, channel=channel, now=now)
    return coupons


@transaction.atomic
def coupons_lock(
    *, codes: list[str], member: Member, order_ref: str, store, channel: str, now=None
) -> list[Coupon]:
    """An order holds its coupons until it is paid or gone."""
    now = now or timezone.now()
    coupons = _held_for_order(codes, member, order_ref, store, channel, now)
    Coupon.objects.filter(pk__in=[c.pk for c in coupons]).update(
        status=Coupon.Status.LOCKED, locked_for=order_ref, locked_at=now
    )
    return coupons


def _use(coupons, *, order_ref: str, store, used: tuple, now) -> int:
    """Mark these coupons used by the order; `used` is what each took off and the order's
    amount (for the template's statistics). Returns how many were."""
    discount, order_amount = used
    return coupons.update(
        status=Coupon.Status.USED,
        used_at=now,
        used_store=store,
        used_for=order_ref,
        discount=discount,
        order_amount=order_amount,
    )


def _mark_used(coupons, *, order_ref: str, store, discounts: dict[str, tuple], now) -> int:
    return sum(
        _use(
            Coupon.objects.filter(pk=coupon.pk),
            order_ref=order_ref,
            store=store,
            used=discounts.get(coupon.code, (None, None)),
            now=now,
        )
        for coupon in coupons
    )


@transaction.atomic(savepoint=False)  # no caller carries on after its errors
def coupons_use(*, order_ref: str, store, discounts: dict[str, tuple], now=None) -> int:
    """Payment went through: the order's locked coupons are used, each recording what it took
    off and the order's amount (for the template's statistics). `discounts`: {code: (discount,
    order amount)}."""
    now = now or timezone.now()
    held = (
        Coupon.objects.select_for_update()
        .filter(locked_for=order_ref, status=Coupon.Status.LOCKED)
        .order_by("pk")
    )
    return _mark_used(held, order_ref=order_ref, store=store, discounts=discounts, now=now)


@transaction.atomic(savepoint=False)  # no caller carries on after its errors
def coupons_use_at_once(
    *, member: Member, order_ref: str, store, channel: str, discounts: dict[str, tuple], now=None
) -> int:
    """A sale paid as it is made (a till, the counter, an import) uses its coupons in one
    step, without holding them first. Its quote, made in the same transaction, found them
    usable in this store and channel; each is used by one update that finds it still
    available and within its dates, so a coupon another order took meanwhile is refused
    with the reason, and nothing is used."""
    now = now or timezone.now()
    at = connection.ops.adapt_datetimefield_value(now)
    for code in sorted(discounts):  # one order of row locks for every sale
        discount, order_amount = discounts[code]
        with connection.cursor() as cursor:  # by hand: every sale with a coupon runs it
            cursor.execute(
                f"UPDATE {Coupon._meta.db_table} SET status = %s, used_at = %s, "
                "used_store_id = %s, used_for = %s, discount = %s, order_amount = %s "
                "WHERE code = %s AND member_id = %s AND status = %s "
                "AND valid_from <= %s AND valid_until > %s",
                [
                    *(Coupon.Status.USED, at, store.pk, order_ref, discount, order_amount),
                    *(code, member.pk, Coupon.Status.AVAILABLE, at, at),
                ],
            )
            if cursor.rowcount != 1:
                _refuse(code, member=member, store=store, channel=channel, now=now)
    return len(discounts)


def _refuse(code: str, *, member: Member, store, channel: str, now) -> NoReturn:
    """Say why the member's coupon cannot be used now."""
    coupon = _locked_coupon(code)
    if coupon.member_id != member.pk:
        raise CouponNotFound()
    _check_usable(coupon, store=store, channel=channel, now=now)
    raise CouponLocked()  # available again by the time it was read: it was held just then


@transaction.atomic
def coupons_release(*, order_ref: str) -> int:
    """The order was cancelled or expired unpaid: its coupons are the member's again."""
    return Coupon.objects.filter(locked_for=order_ref, status=Coupon.Status.LOCKED).update(
        status=Coupon.Status.AVAILABLE, locked_for="", locked_at=None
    )


@transaction.atomic
def coupons_restore(*, order_ref: str, now=None) -> int:
    """A full refund: coupons the order used come back if still within their dates and
    COUPON_RESTORE_ON_REFUND says so. Returns how many came back."""
    if not settings.COUPON_RESTORE_ON_REFUND:
        return 0
    now = now or timezone.now()
    return Coupon.objects.filter(
        used_for=order_ref, status=Coupon.Status.USED, valid_until__gt=now
    ).update(
        status=Coupon.Status.AVAILABLE,
        used_at=None,
        used_store=None,
        used_for="",
        locked_for="",
        locked_at=None,
        discount=None,
        order_amount=None,
    )


def coupons_expire_due(*, now=None, batch: int = 5000) -> int:
    """Available coupons past their date become expired, a batch per statement."""
    now = now or timezone.now()
    expired = 0
    while True:
        ids = Coupon.objects.filter(
            status=Coupon.Status.AVAILABLE, valid_until__lte=now
        ).values_list("pk", flat=True)[:batch]
        done = Coupon.objects.filter(pk__in=list(ids), status=Coupon.Status.AVAILABLE).update(
            status=Coupon.Status.EXPIRED
        )
        expired += done
        if not done:
            return expired


def coupons_remind_expiring(*, now=None, batch: int = 2000) -> int:
    """`coupons_expiring`: one event per member with coupons ending within
    COUPON_REMIND_DAYS, once per coupon (a reminded coupon is marked in the same transaction)."""
    now = now or timezone.now()
    horizon = now + timedelta(days=settings.COUPON_REMIND_DAYS)
    reminded = 0
    while True:
        with transaction.atomic():
            due = list(
                Coupon.objects.select_for_update(skip_locked=True)
                .filter(
                    status=Coupon.Status.AVAILABLE,
                    reminded_at__isnull=True,
                    valid_until__gt=now,
                    valid_until__lte=horizon,
                )
                .order_by("pk")
                .values_list("pk", "member_id", "code", "valid_until")[:batch]
            )
            if not due:
                return reminded
            Coupon.objects.filter(pk__in=[row[0] for row in due]).update(reminded_at=now)
            per_member: dict[int, list] = {}
            for _pk, member_id, code, valid_until in due:
                per_member.setdefault(member_id, []).append(
                    {"code": code, "valid_until": valid_until.isoformat()}
                )
            events_emit(
                name="coupons_expiring",
                payloads=[
                    {"member": member_id, "coupons": coupons}
                    for member_id, coupons in per_member.items()
                ],
            )
            reminded += len(due)


def templates_for(event: str) -> list[CouponTemplate]:
    return list(
        CouponTemplate.objects.filter(active=True, auto_issue=event)
        .filter(Q(total_stock__isnull=True) | Q(issued__lt=F("total_stock")))
        .prefetch_related("eligible_tiers", "eligible_stores", "eligible_distributors")
    )


@transaction.atomic
def coupons_void(*, coupons, actor) -> int:
    """HQ withdraws coupons given by mistake. Only unused ones still in a wallet are voided;
    a used, held, expired or already void coupon stays as it is. Audited."""
    voided = list(
        Coupon.objects.filter(pk__in=coupons.values("pk"), status=Coupon.Status.AVAILABLE)
        .select_for_update()
        .order_by("pk")
        .values_list("pk", "code")
    )
    Coupon.objects.filter(pk__in=[pk for pk, _code in voided]).update(status=Coupon.Status.VOID)
    if voided:
        audit_record(
            actor=actor, action="coupon.void", after={"codes": [code for _pk, code in voided]}
        )
    return len(voided)


@transaction.atomic
def templates_withdraw(*, templates, actor) -> int:
    """Stop offering templates at once (a drop gone wrong): no more claims, exchanges, gifts
    or automatic issues. Coupons already issued stay usable. Audited."""
    names = list(templates.filter(active=True).order_by("pk").values_list("pk", "name"))
    CouponTemplate.objects.filter(pk__in=[pk for pk, _name in names]).update(active=False)
    if names:
        audit_record(
            actor=actor, action="coupon_template.withdraw", after={"templates": dict(names)}
        )
    return len(names)

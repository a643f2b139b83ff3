"""Using coupons: redeemed at a till, or by an order — checked at the checkout, held while
the order awaits payment, used when it is paid, released if it is given up, restored by a
full refund. Every use is one statement, `coupon_use`."""

import functools
from dataclasses import dataclass
from typing import NoReturn

from django.conf import settings
from django.db import connections, router, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.core.rows import column, columns, database_for_read, instance, table
from apps.coupons.errors import (
    AlreadyUsed,
    CouponExpired,
    CouponLocked,
    CouponNotFound,
    CouponNotUsable,
)
from apps.coupons.models import Coupon
from apps.coupons.rules import EXPIRED, HELD, USED, VOID, coupon_state_problem, usability_problem
from apps.coupons.selectors import template_cached
from apps.members.models import Member
from apps.stores.models import Store

_REFUSED = {USED: AlreadyUsed, HELD: CouponLocked, EXPIRED: CouponExpired, VOID: CouponNotFound}


def _check_usable(coupon: Coupon, *, store, channel: str, now) -> None:
    if problem := coupon_state_problem(
        status=coupon.status, valid_until=coupon.valid_until, now=now
    ):
        raise _REFUSED[problem]()
    if problem := usability_problem(
        coupon, store_id=store.pk if store else None, channel=channel, now=now
    ):
        raise CouponNotUsable(reason=problem)


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


@functools.cache
def _use_sql(of_member: bool) -> str:
    column = {field.name: f'"{field.column}"' for field in Coupon._meta.concrete_fields}
    sets = ", ".join(
        f"{column[name]} = %s"
        for name in (
            "status",
            "used_at",
            "used_store",
            "order_id",
            "receipt",
            "discount",
            "order_amount",
        )
    )
    return (
        f'UPDATE "{Coupon._meta.db_table}" SET {sets} WHERE {column["code"]} = %s '
        + (f"AND {column['member']} = %s " if of_member else "")
        + f"AND (({column['status']} = %s AND {column['valid_from']} <= %s "
        f"AND {column['valid_until']} > %s) "
        f"OR ({column['status']} = %s AND {column['order_id']} = %s))"
    )


def coupon_use(
    *,
    code: str,
    member_id: int | None,
    order_id: int | None,
    store_id: int,
    receipt: str = "",
    discount=None,
    order_amount=None,
    now,
) -> bool:
    """Mark the coupon `code` (of this member, if given) used by this order or at a till
    (`receipt`), in one statement that finds it usable: available and within its dates
    (`coupon_state_problem`, `usability_problem`), or held for this order. `discount` and
    `order_amount` are what it took off and the order's amount, for the template's
    statistics. False when it was not usable, and nothing changed."""
    database = connections[router.db_for_write(Coupon)]
    at = database.ops.adapt_datetimefield_value(now)
    Status = Coupon.Status
    with database.cursor() as cursor:  # by hand: every sale with a coupon runs it
        cursor.execute(
            _use_sql(member_id is not None),
            [
                *(Status.USED, at, store_id, order_id, receipt, discount, order_amount, code),
                *([member_id] if member_id is not None else []),
                *(Status.AVAILABLE, at, at, Status.LOCKED, order_id),
            ],
        )
        return cursor.rowcount == 1


@transaction.atomic
def coupon_redeem(
    *, code: str, store: Store, external_id: str = "", channel: str = "store", now=None
) -> Coupon:
    """核销 at the counter: the cashier scans or types the code. Used once, ever; a till
    names the sale in `external_id`."""
    now = now or timezone.now()
    coupon = _locked_coupon(code)
    _check_usable(coupon, store=store, channel=channel, now=now)
    coupon_use(
        code=coupon.code,
        member_id=None,
        order_id=None,
        store_id=store.pk,
        receipt=external_id,
        now=now,
    )
    coupon.refresh_from_db()
    return coupon


@dataclass(frozen=True)
class CouponCheck:
    """A code the checkout was given: its coupon (with the template as cached) if the
    member holds one, and why it cannot be used ('' when it can), with the machine code."""

    code: str
    coupon: Coupon | None
    refused: str = ""
    refused_code: str = "not_eligible"


def coupon_offers_check(
    codes: list[str], *, member: Member | None, store, channel: str, now
) -> list[CouponCheck]:
    """The checkout's coupons, each code once (trimmed, upper case) in the order given:
    one query for the member's coupons, their templates from the cache."""
    codes = list(dict.fromkeys(code.strip().upper() for code in codes if code))
    if not codes:
        return []
    found = _member_coupons(member, codes) if member is not None else {}
    for coupon in found.values():  # the template as cached, with where it can be used
        coupon.template = template_cached(coupon.template_id)
    checks = []
    for code in codes:
        coupon = found.get(code)
        if coupon is None:
            checks.append(
                CouponCheck(code, None, _("this member has no coupon with this code"), "not_found")
            )
        elif problem := coupon_state_problem(
            status=coupon.status, valid_until=coupon.valid_until, now=now
        ):
            checks.append(CouponCheck(code, coupon, *_offer_refused(problem)))
        else:
            refused = usability_problem(
                coupon, store_id=store.pk if store else None, channel=channel, now=now
            )
            checks.append(CouponCheck(code, coupon, refused))
    return checks


@functools.cache
def _member_coupons_sql(count: int) -> str:
    return (
        f"SELECT {columns(Coupon, 'c')} FROM {table(Coupon)} c "
        f"WHERE c.{column(Coupon, 'member')} = %s "
        f"AND c.{column(Coupon, 'code')} IN ({', '.join(['%s'] * count)})"
    )


def _member_coupons(member: Member, codes: list[str]) -> dict[str, Coupon]:
    """The member's coupons of these codes, by code: by hand, as every sale with a coupon
    asks."""
    using = database_for_read(Coupon)
    with connections[using].cursor() as cursor:
        cursor.execute(_member_coupons_sql(len(codes)), [member.pk, *codes])
        coupons = [instance(Coupon, row, using) for row in cursor.fetchall()]
    return {coupon.code: coupon for coupon in coupons}


def _offer_refused(problem: str) -> tuple[str, str]:
    if problem == USED:
        return _("it has already been used"), AlreadyUsed.code
    if problem == HELD:
        return _("it is held by another unpaid order"), CouponLocked.code
    return str(CouponExpired().render()), CouponExpired.code  # a void one too, as it was


@transaction.atomic(savepoint=False)  # no caller carries on after its errors
def coupons_lock(*, codes: list[str], member: Member, order_id: int, store, channel: str, now=None):
    """An order holds its coupons until it is paid or gone. Its quote, made in the same
    transaction, found them usable in this store and channel; each is held by one statement
    that finds it still available and within its dates (or already held for this order), so
    a coupon another order took meanwhile is refused with the reason, and nothing is held."""
    now = now or timezone.now()
    Status = Coupon.Status
    for code in sorted({code.strip().upper() for code in codes}):  # one order of row locks
        if not (
            Coupon.objects.filter(code=code, member=member)
            .filter(
                Q(status=Status.AVAILABLE, valid_from__lte=now, valid_until__gt=now)
                | Q(status=Status.LOCKED, order_id=order_id)
            )
            .update(status=Status.LOCKED, order_id=order_id, locked_at=now)
        ):
            _refuse(code, member=member, store=store, channel=channel, now=now)


@transaction.atomic(savepoint=False)  # no caller carries on after its errors
def coupons_use(*, order_id: int, store, discounts: dict[str, tuple], now=None) -> int:
    """Payment went through: the order's held coupons are used, each recording what it took
    off and the order's amount (for the template's statistics). `discounts`: {code:
    (discount, order amount)}."""
    now = now or timezone.now()
    held = (
        Coupon.objects.select_for_update()
        .filter(order_id=order_id, status=Coupon.Status.LOCKED)
        .order_by("pk")
        .values_list("code", flat=True)
    )
    used = 0
    for code in held:
        discount, order_amount = discounts.get(code, (None, None))
        used += coupon_use(
            code=code,
            member_id=None,
            order_id=order_id,
            store_id=store.pk,
            discount=discount,
            order_amount=order_amount,
            now=now,
        )
    return used


@transaction.atomic(savepoint=False)  # no caller carries on after its errors
def coupons_use_at_once(
    *, member: Member, order_id: int, store, channel: str, discounts: dict[str, tuple], now=None
) -> int:
    """A sale paid as it is made (a till, the counter, an import) uses its coupons in one
    step, without holding them first. Its quote, made in the same transaction, found them
    usable in this store and channel; each is used by one statement that finds it still
    available and within its dates, so a coupon another order took meanwhile is refused
    with the reason, and nothing is used."""
    now = now or timezone.now()
    for code in sorted(discounts):  # one order of row locks for every sale
        discount, order_amount = discounts[code]
        if not coupon_use(
            code=code,
            member_id=member.pk,
            order_id=order_id,
            store_id=store.pk,
            discount=discount,
            order_amount=order_amount,
            now=now,
        ):
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
def coupons_release(*, order_id: int) -> int:
    """The order was cancelled or expired unpaid: its coupons are the member's again."""
    return Coupon.objects.filter(order_id=order_id, status=Coupon.Status.LOCKED).update(
        status=Coupon.Status.AVAILABLE, order_id=None, locked_at=None
    )


@transaction.atomic
def coupons_restore(*, order_id: int, now=None) -> int:
    """A full refund: coupons the order used come back if still within their dates and
    COUPON_RESTORE_ON_REFUND says so. Returns how many came back."""
    if not settings.COUPON_RESTORE_ON_REFUND:
        return 0
    now = now or timezone.now()
    return Coupon.objects.filter(
        order_id=order_id, status=Coupon.Status.USED, valid_until__gt=now
    ).update(
        status=Coupon.Status.AVAILABLE,
        used_at=None,
        used_store=None,
        order_id=None,
        receipt="",
        locked_at=None,
        discount=None,
        order_amount=None,
    )

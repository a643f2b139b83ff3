"""Issuing coupons: a member's claim, a points exchange, a store's gift, an automatic issue
on an event, and the stock they all take. The stock is one conditional UPDATE on the
template (`stock_take`), taken last in each transaction, so the hot row is locked only
until the commit; a plain claim inserts its coupon in that same statement
(`coupon_insert_taking_stock`)."""

import contextlib
import functools
from datetime import datetime
from typing import NoReturn

from django.db import IntegrityError, connections, router, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.core.bulk import rows_insert
from apps.core.codes import minute_prefixed_code
from apps.core.rows import insert_statement, row_insert
from apps.coupons.errors import (
    CouponNotUsable,
    CouponTemplateNotFound,
    LimitReached,
    NotEligible,
    SoldOut,
)
from apps.coupons.models import Coupon, CouponTemplate, TemplateCounter
from apps.coupons.rules import claim_window_problem, eligibility_problem, validity
from apps.coupons.selectors import claimant
from apps.coupons.sold_out import sold_out_remember
from apps.members.models import Member
from apps.points.models import Entry, PointsWindow
from apps.points.selectors import entry_by_key
from apps.points.services import points_redeem
from apps.points.windows import points_window_check
from apps.stores.models import Store
from apps.stores.scoping import access_scope

CODE_LENGTH = 16  # the minute, then 31^11 ≈ 2.5·10^16 random: typeable from the counter screen


def coupon_code() -> str:
    return minute_prefixed_code(CODE_LENGTH)


@functools.cache
def _stock_sql(*, active_only: bool) -> str:
    """Take %s coupons from template %s if it has them (and, `active_only`, while HQ has not
    withdrawn it): the one statement every issue takes its stock by. Returns the id."""
    column = CouponTemplate._meta.get_field
    issued, total = column("issued").column, column("total_stock").column
    return (
        f'UPDATE "{CouponTemplate._meta.db_table}" SET "{issued}" = "{issued}" + %s '
        f'WHERE "{CouponTemplate._meta.pk.column}" = %s '
        f'AND ("{total}" IS NULL OR "{issued}" + %s <= "{total}")'
        + (f' AND "{column("active").column}"' if active_only else "")
        + f' RETURNING "{CouponTemplate._meta.pk.column}"'
    )


def _stock_params(template: CouponTemplate, count: int) -> list:
    return [count, template.pk, count]


def stock_take(
    template: CouponTemplate, *, count: int = 1, store_id: int | None, now, bulk: bool = False
) -> int:
    """Take up to `count` from the stock, and for a member's own issue (not a `bulk` one by
    HQ or a job) from the day's and the store's limits too. Conditional UPDATEs only: the
    database never hands out more than there is. Returns how many were granted; 0 means
    none, and the caller rolls back. A member's own issue stops the moment HQ withdraws
    the template, whatever a cache holds."""
    database = connections[router.db_for_write(CouponTemplate)]
    sql = _stock_sql(active_only=not bulk)
    granted = count
    if template.total_stock is not None:
        granted = min(count, template.total_stock)  # a batch takes what is left, not all or none
    with database.cursor() as cursor:
        while granted:
            cursor.execute(sql, _stock_params(template, granted))
            if cursor.fetchone() is not None:
                break
            if template.total_stock is None:
                return 0  # withdrawn
            left = (
                CouponTemplate.objects.using(database.alias)
                .filter(pk=template.pk, **({} if bulk else {"active": True}))
                .values_list("total_stock", "issued")
                .first()
            ) or (0, 0)
            granted = min(granted, max(left[0] - left[1], 0))
    if not granted or bulk:
        return granted  # HQ's batches and birthday gifts are not held to those limits
    for counter, limit in (
        ({"day": timezone.localdate(now)}, template.daily_limit),
        ({"store_id": store_id} if store_id else None, template.per_store_limit),
    ):
        if counter is None or limit is None:
            continue
        TemplateCounter.objects.get_or_create(template=template, **counter)
        if not TemplateCounter.objects.filter(
            template=template, issued__lte=limit - granted, **counter
        ).update(issued=F("issued") + granted):
            return 0  # the caller's transaction rolls the stock back with it
    return granted


def coupon_insert_taking_stock(coupon: Coupon) -> bool:
    """Insert the unsaved `coupon` and take one of its template's stock, both or neither, in
    one statement on PostgreSQL (the template's row is locked only while the database
    inserts and commits). False when there was no stock, or the template was withdrawn.

    A taken slot (the coupon's unique `claim_slot`) fails the statement with an
    IntegrityError, the stock's change with it: an `ON CONFLICT` would leave the stock
    taken for a coupon never inserted. For a template limited by its total stock only."""
    insert = insert_statement(Coupon, only_if="taken")
    database = connections[insert.using]
    stock = _stock_params(coupon.template, 1)
    if database.vendor != "postgresql":  # the embedded SQLite: one after the other
        with transaction.atomic(using=insert.using), database.cursor() as cursor:
            cursor.execute(_stock_sql(active_only=True), stock)
            return cursor.fetchone() is not None and row_insert(coupon)
    with database.cursor() as cursor:
        cursor.execute(
            f"WITH taken AS ({_stock_sql(active_only=True)}) {insert.sql}",
            [*stock, *insert.params(coupon)],
        )
        return insert.saved(coupon, cursor.fetchone())


def coupon_build(template: CouponTemplate, member_id: int, **reference) -> Coupon:
    """The unsaved coupon of `template` issued to the member, with its source's reference
    (a claim's slot, a batch, an event's cause or a gift's key) that makes it once."""
    coupon = Coupon(**coupon_fields(template, member_id, **reference))
    coupon.template = template  # the one at hand, not read again
    return coupon


def coupon_fields(
    template: CouponTemplate,
    member_id: int,
    *,
    source: str,
    store_id: int | None,
    now: datetime,
    claim_slot: int | None = None,
    batch_id: int | None = None,
    cause_kind: str = "",
    cause_id: int | None = None,
    idempotency_key: str | None = None,
) -> dict:
    """{field: value} of the coupon `coupon_build` makes."""
    valid_from, valid_until = validity(
        issued_at=now,
        valid_from=template.valid_from,
        valid_until=template.valid_until,
        valid_days=template.valid_days,
    )
    return {
        "template_id": template.pk,
        "member_id": member_id,
        "code": coupon_code(),
        "source": source,
        "issued_to_id": member_id,
        "claim_slot": claim_slot,
        "batch_id": batch_id,
        "cause_kind": cause_kind,
        "cause_id": cause_id,
        "idempotency_key": idempotency_key,
        "store_id": store_id,
        "issued_at": now,
        "valid_from": valid_from,
        "valid_until": valid_until,
    }


def coupons_issue_together(
    template: CouponTemplate, member_ids: list[int], *, now: datetime, cause_kind: str, cause_id
) -> None:
    """A job's coupons of `template`, one for each member, caused by (`cause_kind`,
    `cause_id`), in one insert; the caller took their stock (`stock_take`, bulk)."""
    rows_insert(
        Coupon,
        [
            coupon_fields(
                template,
                member_id,
                source=Coupon.Source.EVENT,
                store_id=None,
                now=now,
                cause_kind=cause_kind,
                cause_id=cause_id,
            )
            for member_id in member_ids
        ],
    )


def _issue_one(template, member, *, source, store_id, now, **reference) -> Coupon:
    """Take one from the stock and insert the coupon, both or neither. The coupon's unique
    reference (`coupon_build`) settles who got a slot; the stock is taken in the same
    statement when only the total stock limits the template, else last in the transaction
    (see stock_take)."""
    coupon = coupon_build(
        template, member.pk, source=source, store_id=store_id, now=now, **reference
    )
    if _only_total_stock(template):
        if not coupon_insert_taking_stock(coupon):
            raise SoldOut()
        return coupon
    coupon.save(force_insert=True)
    if not stock_take(template, store_id=store_id, now=now):
        raise SoldOut()
    return coupon


def _only_total_stock(template: CouponTemplate) -> bool:
    return template.daily_limit is None and template.per_store_limit is None


def _issue_in_a_free_slot(template, member, *, source: str, now, then=None) -> Coupon:
    """Claims and exchanges of a member share `per_member_limit` slots, each unique:
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
                    store_id=member.home_store_id,
                    now=now,
                    claim_slot=slot,
                )
                if then is not None:
                    then(coupon)
                return coupon
        except IntegrityError:
            continue
    raise LimitReached()


def _check_claim(template: CouponTemplate, member: Member, now: datetime) -> None:
    if problem := claim_window_problem(template, now=now):
        raise NotEligible(reason=problem)
    if template.remaining == 0:  # answered without touching the hot row
        sold_out_remember(template.pk)
        raise SoldOut()
    if problem := eligibility_problem(template.eligibility, claimant(member), now=now):
        raise NotEligible(reason=problem)


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
        sold_out_remember(template.pk)
    raise SoldOut()


def coupon_exchange(*, template: CouponTemplate, member: Member, key: str, now=None) -> Coupon:
    """积分兑换: points for a coupon, both or neither. A retried key returns the same coupon."""
    now = now or timezone.now()
    if not template.points_price:
        raise NotEligible(reason=_("it cannot be exchanged for points"))
    ledger_key = f"coupon-exchange:{template.pk}:{member.pk}:{key}"
    if (paid := entry_by_key(ledger_key)) is not None:
        return Coupon.objects.get(pk=paid.cause_id)
    points_window_check(PointsWindow.Use.EXCHANGE, timezone.localdate(now))
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


def _not_now_for(template: CouponTemplate, member: Member, now: datetime) -> str:
    """Why the template cannot be issued to this member now ('' when it can)."""
    return claim_window_problem(template, now=now) or eligibility_problem(
        template.eligibility, claimant(member), now=now
    )


def coupon_gift(
    *, template: CouponTemplate, member: Member, store: Store, actor, key: str, now=None
) -> Coupon:
    """A store gives one of its allowance to a member; the key makes a retry give nothing more."""
    now = now or timezone.now()
    if not access_scope(actor).allows_store(store.pk):
        raise CouponNotUsable(reason=_("you may only give your own store's allowance"))
    if template.per_store_limit is None:
        raise NotEligible(reason=_("stores have no allowance of it"))
    given = Coupon.objects.filter(store=store, idempotency_key=key)
    if (existing := given.first()) is not None:
        return existing
    if problem := _not_now_for(template, member, now):
        raise NotEligible(reason=problem)
    try:
        with transaction.atomic():
            return _issue_one(
                template,
                member,
                source=Coupon.Source.STORE_GIFT,
                store_id=store.pk,
                now=now,
                idempotency_key=key,
            )
    except IntegrityError:
        return given.get()


def coupon_issue_for_event(
    *,
    template: CouponTemplate,
    member: Member,
    cause_kind: Coupon.CauseKind,
    cause_id: int,
    now=None,
) -> Coupon | None:
    """An automatic issue (join gift, birthday, tier upgrade, referral): once per template,
    member and cause (`Coupon.CauseKind` says what its id is); a member it is not for, or a
    template out of stock, gets nothing, quietly."""
    now = now or timezone.now()
    cause = {"cause_kind": cause_kind, "cause_id": cause_id}
    if Coupon.objects.filter(template=template, issued_to=member, **cause).exists():
        return None
    if _not_now_for(template, member, now):
        return None
    try:
        with transaction.atomic():
            return _issue_one(
                template,
                member,
                source=Coupon.Source.EVENT,
                store_id=None,
                now=now,
                **cause,
            )
    except (IntegrityError, SoldOut):
        return None


def templates_for(event: str) -> list[CouponTemplate]:
    """The templates issued automatically on `event` that have stock left."""
    return list(
        CouponTemplate.objects.filter(active=True, auto_issue=event)
        .filter(Q(total_stock__isnull=True) | Q(issued__lt=F("total_stock")))
        .prefetch_related("eligible_tiers", "eligible_stores", "eligible_distributors")
    )

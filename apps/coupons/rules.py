"""Pure coupon rules: who may have a template, whether its claims are open, whether a
coupon can be used here and now, its validity, and how much it takes off an order. Plain
data in, a reason out; no database. Where a list is filtered in SQL for speed, the filter
is built here beside the rule it stands for (`claim_open`, `usable_now`), and
tests/coupons/test_rules_sql.py checks the two agree."""

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, NamedTuple, Protocol

from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from apps.core.categories import in_categories
from apps.core.money import money

if TYPE_CHECKING:
    from apps.tiers.models import Tier


class Eligibility(NamedTuple):
    """Who may have a template: empty lists mean anyone."""

    tiers: "tuple[Tier, ...]"
    store_ids: frozenset[int]
    distributor_ids: frozenset[int]
    new_members_only: bool = False


class Claimant(Protocol):
    """What the eligibility rule reads of a member. `tier` and `home` may be loaded when
    first read: the rule reads them only when the template restricts by them."""

    joined_at: datetime
    returning: bool

    @property
    def tier(self) -> "Tier | None": ...

    @property
    def home(self) -> tuple[int, int | None] | None:
        """The home store's id and its distributor's, or None without a home store."""


def eligibility_problem(eligibility: Eligibility, claimant: Claimant, *, now: datetime) -> str:
    """Why this member may not have a template of this eligibility ('' when they may)."""
    tiers, stores, distributors, new_members_only = eligibility
    if tiers and claimant.tier not in tiers:
        return gettext("it is for %(tiers)s members") % {"tiers": "、".join(t.name for t in tiers)}
    if new_members_only and (
        claimant.returning
        or claimant.joined_at < now - timedelta(days=settings.COUPON_NEW_MEMBER_DAYS)
    ):
        return gettext("it is for new members")
    if stores or distributors:
        home = claimant.home
        if home is None or (home[0] not in stores and home[1] not in distributors):
            return gettext("it is for members of certain stores")
    return ""


class ClaimWindow(Protocol):
    active: bool
    claim_starts_at: datetime | None
    claim_ends_at: datetime | None
    valid_until: datetime | None


def claim_window_problem(template: ClaimWindow, *, now: datetime) -> str:
    """Why a template cannot be claimed, exchanged or given now ('' when it can)."""
    if not template.active:
        return gettext("it is no longer offered")
    if template.claim_starts_at and now < template.claim_starts_at:
        return gettext("claims have not opened yet")
    if template.claim_ends_at and now >= template.claim_ends_at:
        return gettext("claims have closed")
    if template.valid_until and now >= template.valid_until:
        return gettext("it is no longer offered")
    return ""


def claim_open(now: datetime) -> Q:
    """`claim_window_problem` as a filter on templates: the ones it finds no problem with."""
    return (
        Q(active=True)
        & (Q(claim_starts_at__isnull=True) | Q(claim_starts_at__lte=now))
        & (Q(claim_ends_at__isnull=True) | Q(claim_ends_at__gt=now))
        & (Q(valid_until__isnull=True) | Q(valid_until__gt=now))
    )


# What keeps a coupon from any use, whatever the store (coupon_state_problem)
USED, HELD, EXPIRED, VOID = "used", "locked", "expired", "void"


def coupon_state_problem(*, status: str, valid_until: datetime, now: datetime) -> str:
    """'' when the coupon is available and not past its date; else USED, HELD (by an
    unpaid order), EXPIRED (marked so, or past its date though not marked yet) or VOID."""
    if status != "available":
        return status
    return EXPIRED if now >= valid_until else ""


class UsableTemplate(Protocol):
    channel_set: frozenset[str]
    usable_store_ids: frozenset[int]  # empty: every store


class Usable(Protocol):
    template: UsableTemplate
    valid_from: datetime


def usability_problem(coupon: Usable, *, store_id: int | None, channel: str, now: datetime) -> str:
    """Why a coupon cannot be used in this store and channel now ('' when it can), by its
    template's channels and stores (read once, from the prefetched list)."""
    template = coupon.template
    if channel not in template.channel_set:
        return gettext("it cannot be used in this channel")
    if template.usable_store_ids and store_id not in template.usable_store_ids:
        return gettext("it cannot be used in this store")
    if now < coupon.valid_from:
        return gettext("it can be used from %(date)s") % {
            "date": timezone.localtime(coupon.valid_from).strftime("%Y-%m-%d %H:%M")
        }
    return ""


def past_date(now: datetime) -> Q:
    """Available coupons `coupon_state_problem` finds EXPIRED though not marked so yet."""
    return Q(status="available", valid_until__lte=now)


def usable_now(now: datetime) -> Q:
    """A coupon with no state problem whose dates have begun: the filter on coupons of
    `coupon_state_problem` and the date in `usability_problem`."""
    return Q(status="available", valid_from__lte=now, valid_until__gt=now)


def validity(
    *,
    issued_at: datetime,
    valid_from: datetime | None,
    valid_until: datetime | None,
    valid_days: int | None,
) -> tuple[datetime, datetime]:
    """A coupon's window: N days from issue (the issue day counts, to its last second), or
    the template's fixed window."""
    if valid_days:
        last_day = timezone.localdate(issued_at) + timedelta(days=valid_days - 1)
        end = timezone.make_aware(datetime.combine(last_day, time.max))
        return issued_at, end if valid_until is None else min(end, valid_until)
    return max(issued_at, valid_from) if valid_from else issued_at, valid_until


@dataclass(frozen=True)
class CouponLine:
    sku: str
    category: str
    quantity: int
    unit_price: Decimal
    amount: Decimal  # the line's price before coupons (after member price)


@dataclass(frozen=True)
class CouponTerms:
    kind: str
    threshold: Decimal | None = None
    amount: Decimal | None = None
    percent_off: Decimal | None = None
    max_discount: Decimal | None = None
    gift_sku: str = ""
    include_skus: frozenset[str] = frozenset()
    include_categories: frozenset[str] = frozenset()
    exclude_skus: frozenset[str] = frozenset()
    exclude_categories: frozenset[str] = frozenset()

    def covers(self, line: CouponLine) -> bool:
        if line.sku in self.exclude_skus or in_categories(line.category, self.exclude_categories):
            return False
        if not self.include_skus and not self.include_categories:
            return True
        return line.sku in self.include_skus or in_categories(
            line.category, self.include_categories
        )


@dataclass(frozen=True)
class CouponOutcome:
    discount: Decimal
    reason: str = ""  # why it does not apply, in words a cashier can read out

    @property
    def applies(self) -> bool:
        return not self.reason


def coupon_discount(terms: CouponTerms, lines: list[CouponLine]) -> CouponOutcome:
    """What the coupon takes off these lines, never more than the lines it covers cost."""
    covered = [line for line in lines if terms.covers(line)]
    base = sum((line.amount for line in covered), Decimal(0))
    if terms.kind == "gift":
        gift = next((line for line in covered if line.sku == terms.gift_sku), None)
        if gift is None:
            return CouponOutcome(Decimal(0), str(_("the free product is not in the order")))
        return CouponOutcome(min(gift.unit_price, gift.amount))
    if terms.kind == "shipping":
        return CouponOutcome(Decimal(0))  # the delivery fee is waived where the order ships
    if not covered:
        return CouponOutcome(Decimal(0), str(_("nothing in the order is covered by it")))
    if terms.threshold is not None and base < terms.threshold:
        return CouponOutcome(
            Decimal(0),
            str(_("spend %(threshold)s yuan on covered items to use it (now %(base)s)"))
            % {"threshold": money(terms.threshold), "base": money(base)},
        )
    if terms.kind == "percent":
        off = money(base * terms.percent_off / 100)
        if terms.max_discount is not None:
            off = min(off, terms.max_discount)
        return CouponOutcome(min(off, base))
    return CouponOutcome(min(terms.amount, base))

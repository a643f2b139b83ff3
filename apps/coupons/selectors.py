from datetime import datetime
from decimal import Decimal

from django.core.cache import cache
from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone
from django.utils.functional import cached_property

from apps.core.reference import held, held_forget, shared
from apps.core.text import comma_separated
from apps.coupons.errors import AlreadyUsed, CouponExpired, CouponTemplateNotFound
from apps.coupons.models import Coupon, CouponTemplate, TemplateCounter
from apps.coupons.rules import (
    EXPIRED,
    USED,
    CouponLine,
    CouponOutcome,
    CouponTerms,
    claim_open,
    coupon_discount,
    coupon_state_problem,
    eligibility_problem,
    past_date,
    usability_problem,
    usable_now,
)
from apps.coupons.sold_out import sold_out_key
from apps.members.models import Member
from apps.tiers.models import Tier
from apps.tiers.selectors import member_tier

_UNKNOWN = object()

TEMPLATE_CACHE_SECONDS = 10


def coupon_terms(template: CouponTemplate) -> CouponTerms:
    return CouponTerms(
        kind=template.kind,
        threshold=template.threshold,
        amount=template.amount,
        percent_off=template.percent_off,
        max_discount=template.max_discount,
        gift_sku=template.gift_sku,
        include_skus=comma_separated(template.include_skus),
        include_categories=comma_separated(template.include_categories),
        exclude_skus=comma_separated(template.exclude_skus),
        exclude_categories=comma_separated(template.exclude_categories),
    )


class MemberClaimant:
    """A member as the eligibility rule reads them (rules.Claimant). The tier and the home
    store are read when the rule first asks: most templates are for anyone."""

    def __init__(self, member: Member, tier=_UNKNOWN):
        self.member = member
        if tier is not _UNKNOWN:
            self.tier = tier

    @property
    def joined_at(self) -> datetime:
        return self.member.joined_at

    @property
    def returning(self) -> bool:
        return self.member.returning

    @cached_property
    def tier(self) -> Tier | None:
        return member_tier(self.member)

    @cached_property
    def home(self) -> tuple[int, int | None] | None:
        home = self.member.home_store
        return None if home is None else (home.pk, home.distributor_id)


def claimant(member: Member, *, tier=_UNKNOWN) -> MemberClaimant:
    """`member` for rules.eligibility_problem; pass their `tier` when checking many templates."""
    return MemberClaimant(member, tier)


def member_coupons(member: Member, *, status: str | None = None) -> QuerySet[Coupon]:
    """The wallet, soonest ending first. `expired` also lists available ones past their date
    that the nightly job has not marked yet."""
    coupons = Coupon.objects.filter(member=member).select_related("template")
    now = timezone.now()
    if status == Coupon.Status.AVAILABLE:
        coupons = coupons.filter(
            status__in=[Coupon.Status.AVAILABLE, Coupon.Status.LOCKED], valid_until__gt=now
        )
    elif status == Coupon.Status.EXPIRED:
        coupons = coupons.filter(Q(status=Coupon.Status.EXPIRED) | past_date(now))
    elif status:
        coupons = coupons.filter(status=status)
    return coupons.order_by("valid_until", "pk")


def coupon_display_status(coupon: Coupon, now=None) -> str:
    now = now or timezone.now()
    return (
        coupon_state_problem(status=coupon.status, valid_until=coupon.valid_until, now=now)
        or coupon.status
    )


def claimable_templates(member: Member) -> list[dict]:
    """What the member may claim now: open, in stock or not (a sold-out one still shows,
    with 0 remaining), and for them. A fixed number of queries whatever the count."""
    now = timezone.now()
    templates = list(
        CouponTemplate.objects.filter(claim_open(now), claimable=True)
        .prefetch_related(
            "eligible_tiers", "eligible_stores", "eligible_distributors", "usable_stores"
        )
        .order_by("-pk")
    )
    claimed = dict(
        Coupon.objects.filter(
            member=member,
            template__in=templates,
            source__in=[Coupon.Source.CLAIM, Coupon.Source.EXCHANGE],
        )
        .values_list("template")
        .annotate(n=Count("pk"))
    )
    who = claimant(member, tier=member_tier(member))
    return [
        {
            "template": template,
            "remaining": template.remaining,
            "claimed": claimed.get(template.pk, 0),
        }
        for template in templates
        if not eligibility_problem(template.eligibility, who, now=now)
    ]


def template_stats(templates: QuerySet[CouponTemplate]) -> QuerySet[CouponTemplate]:
    """Issued, claimed, used, expired, sales with the coupon and its cost, in one query."""
    used = Q(coupons__status=Coupon.Status.USED)
    return templates.annotate(
        n_issued=Count("coupons"),
        n_claimed=Count("coupons", filter=Q(coupons__source=Coupon.Source.CLAIM)),
        n_used=Count("coupons", filter=used),
        n_expired=Count("coupons", filter=Q(coupons__status=Coupon.Status.EXPIRED)),
        sales=Sum("coupons__order_amount", filter=used, default=Decimal(0)),
        cost=Sum("coupons__discount", filter=used, default=Decimal(0)),
    )


def template_get(template_id: int) -> CouponTemplate:
    """An active template, to claim (see template_cached)."""
    template = template_cached(template_id)
    if template is None or not template.active:
        raise CouponTemplateNotFound()
    return template


def template_cached(template_id: int) -> CouponTemplate | None:
    """The template with its lists of who may have it and where it can be used. Kept
    TEMPLATE_CACHE_SECONDS in the cache, and a second in each process (apps.core.reference
    `held`: shared, never to be changed): a flash drop reads one template thousands of
    times a second, and every sale with a coupon reads its template. Its stock figure may
    be that old; the claim's conditional UPDATE is what counts, and it also refuses a
    template withdrawn meanwhile."""
    return held(_template_key(template_id), lambda: _template_shared(template_id))


def _template_key(template_id: int) -> str:
    return f"coupon-template:{template_id}"


def _template_shared(template_id: int) -> CouponTemplate | None:
    return shared(
        _template_key(template_id),
        lambda: (
            CouponTemplate.objects.prefetch_related(
                "eligible_tiers", "eligible_stores", "eligible_distributors", "usable_stores"
            )
            .filter(pk=template_id)
            .first()
        ),
        TEMPLATE_CACHE_SECONDS,
    )


def template_forget(template_id: int) -> None:
    """HQ changed the template: the next claim reads it afresh (in another process, within
    a second)."""
    keys = [_template_key(template_id), sold_out_key(template_id)]
    cache.delete_many(keys)
    held_forget(*keys)


def usable_coupons(member: Member, *, store, channel: str) -> list[Coupon]:
    """The member's coupons a cashier can take in this store and channel now."""
    now = timezone.now()
    coupons = (
        member_coupons(member, status=Coupon.Status.AVAILABLE)
        .filter(usable_now(now))
        .prefetch_related("template__usable_stores")
    )
    store_id = store.pk if store else None
    return [
        c for c in coupons if not usability_problem(c, store_id=store_id, channel=channel, now=now)
    ]


def coupon_outcome(
    coupon: Coupon, *, lines: list[CouponLine], store, channel: str, now=None
) -> CouponOutcome:
    """What the coupon would take off this order here and now, or why it cannot: what the
    checkout quote shows as applied or rejected."""
    now = now or timezone.now()
    state = coupon_state_problem(status=coupon.status, valid_until=coupon.valid_until, now=now)
    if state == USED:
        return CouponOutcome(Decimal(0), str(AlreadyUsed().render()))
    if state == EXPIRED or now >= coupon.valid_until:  # held or void past its date too
        return CouponOutcome(Decimal(0), str(CouponExpired().render()))
    store_id = store.pk if store else None
    if problem := usability_problem(coupon, store_id=store_id, channel=channel, now=now):
        return CouponOutcome(Decimal(0), problem)
    return coupon_discount(coupon_terms(coupon.template), lines)


def store_allowances(store) -> list[CouponTemplate]:
    """The templates a store may give from now, each with `left`: its allowance less what
    the store has already given or its members claimed."""
    now = timezone.now()
    templates = list(
        CouponTemplate.objects.filter(claim_open(now), per_store_limit__isnull=False).order_by(
            "name", "pk"
        )
    )
    used = dict(
        TemplateCounter.objects.filter(template__in=templates, store=store).values_list(
            "template", "issued"
        )
    )
    for template in templates:
        template.left = max(template.per_store_limit - used.get(template.pk, 0), 0)
    return templates

from decimal import Decimal

from django.core.cache import cache
from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone

from apps.core.reference import held, held_forget
from apps.core.text import comma_separated
from apps.coupons.errors import AlreadyUsed, CouponExpired, CouponTemplateNotFound
from apps.coupons.models import Coupon, CouponTemplate, TemplateCounter
from apps.coupons.rules import CouponLine, CouponOutcome, CouponTerms, coupon_discount
from apps.coupons.services import eligibility_problem, sold_out_key, usability_problem
from apps.members.models import Member
from apps.tiers.selectors import member_tier

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
        coupons = coupons.filter(
            Q(status=Coupon.Status.EXPIRED)
            | Q(status=Coupon.Status.AVAILABLE, valid_until__lte=now)
        )
    elif status:
        coupons = coupons.filter(status=status)
    return coupons.order_by("valid_until", "pk")


def coupon_display_status(coupon: Coupon, now=None) -> str:
    now = now or timezone.now()
    if coupon.status == Coupon.Status.AVAILABLE and coupon.valid_until <= now:
        return Coupon.Status.EXPIRED
    return coupon.status


def claimable_templates(member: Member) -> list[dict]:
    """What the member may claim now: open, in stock or not (a sold-out one still shows,
    with 0 remaining), and for them. A fixed number of queries whatever the count."""
    now = timezone.now()
    templates = list(
        CouponTemplate.objects.filter(active=True, claimable=True)
        .filter(Q(claim_starts_at__isnull=True) | Q(claim_starts_at__lte=now))
        .filter(Q(claim_ends_at__isnull=True) | Q(claim_ends_at__gt=now))
        .filter(Q(valid_until__isnull=True) | Q(valid_until__gt=now))
        .prefetch_related("eligible_tiers", "eligible_stores", "eligible_distributors")
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
    tier = member_tier(member)
    return [
        {
            "template": template,
            "remaining": template.remaining,
            "claimed": claimed.get(template.pk, 0),
        }
        for template in templates
        if not eligibility_problem(template, member, now=now, tier=tier)
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
    template = cache.get(_template_key(template_id))
    if template is None:
        template = (
            CouponTemplate.objects.prefetch_related(
                "eligible_tiers", "eligible_stores", "eligible_distributors", "usable_stores"
            )
            .filter(pk=template_id)
            .first()
        )
        if template is not None:
            cache.set(_template_key(template_id), template, TEMPLATE_CACHE_SECONDS)
    return template


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
        .filter(status=Coupon.Status.AVAILABLE, valid_from__lte=now)
        .prefetch_related("template__usable_stores")
    )
    return [c for c in coupons if not usability_problem(c, store=store, channel=channel, now=now)]


def coupon_outcome(
    coupon: Coupon, *, lines: list[CouponLine], store, channel: str, now=None
) -> CouponOutcome:
    """What the coupon would take off this order here and now, or why it cannot: what the
    checkout quote shows as applied or rejected."""
    now = now or timezone.now()
    if coupon.status == Coupon.Status.USED:
        return CouponOutcome(Decimal(0), str(AlreadyUsed().render()))
    if coupon.status == Coupon.Status.EXPIRED or now >= coupon.valid_until:
        return CouponOutcome(Decimal(0), str(CouponExpired().render()))
    if problem := usability_problem(coupon, store=store, channel=channel, now=now):
        return CouponOutcome(Decimal(0), problem)
    return coupon_discount(coupon_terms(coupon.template), lines)


def store_allowances(store) -> list[CouponTemplate]:
    """The templates a store may give from now, each with `left`: its allowance less what
    the store has already given or its members claimed."""
    now = timezone.now()
    templates = [
        template
        for template in CouponTemplate.objects.filter(active=True, per_store_limit__isnull=False)
        .exclude(claim_ends_at__lte=now)
        .exclude(valid_until__lte=now)
        .exclude(claim_starts_at__gt=now)
        .order_by("name", "pk")
    ]
    used = dict(
        TemplateCounter.objects.filter(
            template__in=templates, scope=f"store:{store.pk}"
        ).values_list("template", "issued")
    )
    for template in templates:
        template.left = max(template.per_store_limit - used.get(template.pk, 0), 0)
    return templates

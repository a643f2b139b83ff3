"""Promoters bound to members, and paid orders that credit them."""

import itertools
from decimal import Decimal

from django.utils import timezone

from apps.members.attribution import promoter_bind
from apps.members.models import PromoterBinding
from apps.orders.checkout import Checkout, order_place_paid
from apps.orders.pricing import LineInput
from apps.referrals.models import CommissionRule, Promoter
from tests.members.factories import MemberFactory

_sales = itertools.count()


def promoter_of(member=None, *, status=Promoter.Status.APPROVED) -> Promoter:
    return Promoter.objects.create(member=member or MemberFactory(), status=status)


def customer_of(promoter: Promoter, member=None):
    """A member bound to `promoter` (through their link)."""
    member = member or MemberFactory()
    promoter_bind(
        member=member,
        promoter=promoter.member,
        source=PromoterBinding.Source.LINK,
        new_member=True,
        now=timezone.now() - timezone.timedelta(seconds=1),
    )
    return member


def default_rate(level1=10, level2=5) -> CommissionRule:
    return CommissionRule.objects.create(
        name="默认", scope="default", mode="rate", level1=Decimal(level1), level2=Decimal(level2)
    )


def sale(store, member, items=(("TEE", 1, "100"),), *, points: int = 0, now=None):
    """A paid sale at `store`'s till: items as (sku, quantity, unit price)."""
    return order_place_paid(
        checkout=Checkout(
            store=store,
            channel="pos",
            member=member,
            lines=[LineInput(sku=s, quantity=q, unit_price=Decimal(p)) for s, q, p in items],
            points=points,
        ),
        external_id=f"R-{next(_sales)}",
        now=now,
    )

"""Reads of distribution: a promoter's balances, customers, commissions and withdrawals."""

from decimal import Decimal

from django.db.models import Q, QuerySet
from django.utils import timezone

from apps.members.models import Member, PromoterBinding
from apps.orders.models import Order
from apps.referrals.errors import NotPromoter
from apps.referrals.models import Commission, CommissionAccount, Promoter, Withdrawal


def promoter_balances(promoter: Promoter) -> dict[str, Decimal]:
    """What the member centre shows: frozen, available, and debt (what they owe, ≥ 0)."""
    found = dict(CommissionAccount.objects.filter(promoter=promoter).values_list("kind", "balance"))
    return {
        "frozen": found.get(CommissionAccount.Kind.FROZEN, Decimal(0)),
        "available": found.get(CommissionAccount.Kind.AVAILABLE, Decimal(0)),
        "debt": -found.get(CommissionAccount.Kind.DEBT, Decimal(0)),
    }


def member_promoter(member: Member) -> Promoter:
    """The member's promoter record, whatever its status; NotPromoter if they never applied."""
    promoter = Promoter.objects.filter(member=member).first()
    if promoter is None:
        raise NotPromoter()
    promoter.member = member
    return promoter


def promoter_customers(promoter: Promoter, now=None) -> QuerySet[PromoterBinding]:
    """The members bound to the promoter now, most recent first, with their member."""
    now = now or timezone.now()
    return (
        PromoterBinding.objects.filter(
            Q(ends_at__isnull=True) | Q(ends_at__gt=now),
            promoter_id=promoter.member_id,
            replaced_at__isnull=True,
            started_at__lte=now,
        )
        .select_related("member")
        .order_by("-started_at", "-pk")
    )


def promoter_orders_credited(promoter: Promoter) -> int:
    """How many paid orders credit the promoter at level 1."""
    return Order.objects.filter(promoter_id=promoter.member_id, paid_at__isnull=False).count()


def promoter_commissions(promoter: Promoter) -> QuerySet[Commission]:
    return (
        Commission.objects.filter(promoter=promoter)
        .select_related("order")
        .only("order__order_no", "level", "amount", "reversed", "status", "available_on")
        .order_by("-created_at", "-pk")
    )


def promoter_withdrawals(promoter: Promoter) -> QuerySet[Withdrawal]:
    return Withdrawal.objects.filter(promoter=promoter).order_by("-requested_at", "-pk")

"""Reads of distribution: a promoter's balances and commissions."""

from decimal import Decimal

from apps.referrals.models import CommissionAccount, Promoter


def promoter_balances(promoter: Promoter) -> dict[str, Decimal]:
    """What the member centre shows: frozen, available, and debt (what they owe, ≥ 0)."""
    found = dict(CommissionAccount.objects.filter(promoter=promoter).values_list("kind", "balance"))
    return {
        "frozen": found.get(CommissionAccount.Kind.FROZEN, Decimal(0)),
        "available": found.get(CommissionAccount.Kind.AVAILABLE, Decimal(0)),
        "debt": -found.get(CommissionAccount.Kind.DEBT, Decimal(0)),
    }

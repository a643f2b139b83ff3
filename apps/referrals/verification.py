"""The commission ledger's invariants, checked in the database (DESIGN.md, Money ledgers).
Each check is one query, answering the rows that break it as (what, id, difference)."""

from decimal import Decimal

from django.db.models import DecimalField, F, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce, Round

from apps.referrals.models import Commission, CommissionAccount, CommissionEntry, Withdrawal

_ZERO = Value(Decimal(0), output_field=DecimalField(max_digits=14, decimal_places=2))


def _sum_of(entries: QuerySet, ref: str) -> Round:
    """The sum of `entries`' amounts per outer row, grouped by the field `ref` names (to the
    fen: the embedded SQLite adds decimals as floats)."""
    return Round(
        Coalesce(
            Subquery(entries.order_by().values(ref).annotate(total=Sum("amount")).values("total")),
            _ZERO,
        ),
        2,
    )


def _accounts_off_their_entries() -> list[tuple]:
    rows = (
        CommissionAccount.objects.annotate(
            credited=_sum_of(
                CommissionEntry.objects.filter(to_account=OuterRef("pk")), "to_account"
            ),
            debited=_sum_of(
                CommissionEntry.objects.filter(from_account=OuterRef("pk")), "from_account"
            ),
        )
        .exclude(balance=Round(F("credited") - F("debited"), 2))
        .values_list("pk", "balance", "credited", "debited")
    )
    return [("account", pk, balance - (credits - debits)) for pk, balance, credits, debits in rows]


def _frozen_off_their_commissions() -> list[tuple]:
    held = Round(
        Coalesce(
            Subquery(
                Commission.objects.filter(
                    promoter=OuterRef("promoter"), status=Commission.Status.FROZEN
                )
                .order_by()
                .values("promoter")
                .annotate(total=Sum(F("amount") - F("reversed")))
                .values("total")
            ),
            _ZERO,
        ),
        2,
    )
    rows = (
        CommissionAccount.objects.filter(kind=CommissionAccount.Kind.FROZEN)
        .annotate(held=held)
        .exclude(balance=F("held"))
        .values_list("pk", "balance", "held")
    )
    return [("frozen account", pk, balance - held) for pk, balance, held in rows]


def _commissions_off_their_entries() -> list[tuple]:
    mine = CommissionEntry.objects.filter(commission=OuterRef("pk"))
    kind = CommissionEntry.Kind
    rows = (
        Commission.objects.annotate(
            earned=_sum_of(mine.filter(kind=kind.EARN), "commission"),
            taken=_sum_of(mine.filter(kind=kind.REVERSE), "commission"),
            released=_sum_of(
                mine.filter(kind__in=[kind.RELEASE, kind.REPAY], refund__isnull=True), "commission"
            ),
            taken_frozen=_sum_of(
                mine.filter(kind=kind.REVERSE, from_account__kind=CommissionAccount.Kind.FROZEN),
                "commission",
            ),
        )
        .filter(
            ~Q(earned=F("amount"))
            | ~Q(taken=F("reversed"))
            | Q(released_at__isnull=True) & ~Q(released=0)
            | Q(released_at__isnull=False) & ~Q(released=Round(F("amount") - F("taken_frozen"), 2))
        )
        .values_list("pk", "amount", "earned", "reversed", "taken")
    )
    return [
        ("commission", pk, (earned - amount) + (taken - reversed))
        for pk, amount, earned, reversed, taken in rows
    ]


def _debt_beside_available() -> list[tuple]:
    """Debt is paid before money is available: no promoter has both."""
    rows = (
        CommissionAccount.objects.filter(kind=CommissionAccount.Kind.DEBT, balance__lt=0)
        .filter(
            promoter__accounts__kind=CommissionAccount.Kind.AVAILABLE,
            promoter__accounts__balance__gt=0,
        )
        .values_list("promoter_id", "balance")
    )
    return [("promoter", pk, balance) for pk, balance in rows]


def _withdrawals_off_their_accounts() -> list[tuple]:
    """The withdrawing account holds the withdrawals asked and approved (or awaiting the
    member's confirmation), not yet paid; the paid-out account what was paid of those paid
    (their amount less the fee)."""
    Status = Withdrawal.Status
    waiting = Withdrawal.objects.filter(
        status__in=[Status.REQUESTED, Status.APPROVED, Status.CONFIRMING]
    ).aggregate(total=Round(Sum("amount"), 2))["total"] or Decimal(0)
    paid = Withdrawal.objects.filter(status=Status.PAID).aggregate(
        total=Round(Sum(F("amount") - F("fee")), 2)
    )["total"] or Decimal(0)
    expected = {CommissionAccount.Kind.WITHDRAWING: waiting, CommissionAccount.Kind.PAID_OUT: paid}
    rows = CommissionAccount.objects.filter(kind__in=list(expected)).values_list(
        "kind", "pk", "balance"
    )
    return [
        (f"{kind} account", pk, balance - expected[kind])
        for kind, pk, balance in rows
        if balance != expected[kind]
    ]


def _balances_sum() -> list[tuple]:
    total = CommissionAccount.objects.aggregate(total=Round(Sum("balance"), 2))["total"] or 0
    return [("total", None, total)] if total else []


CHECKS = {
    "all balances sum to zero": _balances_sum,
    "each stored balance equals the sum of its entries": _accounts_off_their_entries,
    "each frozen account holds exactly its frozen commissions": _frozen_off_their_commissions,
    "each commission was earned, released and taken back by its entries": (
        _commissions_off_their_entries
    ),
    "no promoter has money available while in debt": _debt_beside_available,
    "the withdrawal accounts hold exactly the withdrawals waiting and paid": (
        _withdrawals_off_their_accounts
    ),
}


def commission_problems(limit: int = 20) -> dict[str, list[tuple]]:
    """Each invariant that fails, with up to `limit` offending rows (what, id, difference)."""
    problems = {}
    for name, check in CHECKS.items():
        rows = check()[:limit]
        if rows:
            problems[name] = rows
    return problems

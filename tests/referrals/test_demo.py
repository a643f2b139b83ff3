"""seed_demo's distribution: promoters in S001–S003, commissions in every state, one debt."""

from io import StringIO

import pytest
from django.core.management import call_command

from apps.referrals.models import Commission, CommissionEntry, Promoter, Withdrawal
from apps.referrals.selectors import promoter_balances
from apps.referrals.verification import commission_problems

pytestmark = pytest.mark.django_db


def seed() -> str:
    out = StringIO()
    call_command("seed_demo", "--members", "30", stdout=out)
    return out.getvalue()


def test_demo_promoters_have_commissions_in_every_state_and_one_a_debt():
    output = seed()

    promoters = {
        p.store.code: p
        for p in Promoter.objects.filter(member__isnull=False, status="approved").select_related(
            "store"
        )
    }
    assert set(promoters) == {"S001", "S002", "S003"}
    # a guide of S001 earned as its promoter; an application waits for S001's owner
    guide = Promoter.objects.get(guide__isnull=False)
    assert guide.store.code == "S001" and guide.commissions.exists()
    assert Promoter.objects.get(status="applied").store.code == "S001"
    assert set(Commission.objects.values_list("status", flat=True)) == {
        "frozen",
        "available",
        "reversed",
    }
    assert Commission.objects.filter(status="available", reversed__gt=0).exists()  # half back
    assert promoter_balances(promoters["S001"])["debt"] > 0
    assert set(Withdrawal.objects.values_list("status", flat=True)) == {"paid", "requested"}
    assert "Distribution: a promoter with customers in S001" in output
    assert commission_problems() == {}

    entries = CommissionEntry.objects.count()
    seed()
    assert CommissionEntry.objects.count() == entries

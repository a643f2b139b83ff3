"""Who may promote, and HQ's decisions on promoters."""

from decimal import Decimal as D

import pytest

from apps.core.models import AuditEntry
from apps.referrals.errors import AlreadyPromoter, PromoterNotDecidable, PromoterNotEligible
from apps.referrals.models import Promoter
from apps.referrals.promoters import promoter_apply, promoter_decide
from tests.core.factories import UserFactory
from tests.members.factories import MemberFactory
from tests.referrals.factories import sale
from tests.stores.factories import StoreFactory

pytestmark = pytest.mark.django_db


def test_by_approval_an_application_waits_for_hq():
    promoter = promoter_apply(member=MemberFactory())
    assert (promoter.status, promoter.decided_at) == ("applied", None)


def test_when_everyone_may_promote_they_are_approved_at_once(settings):
    settings.PROMOTER_ENROLMENT = "everyone"
    promoter = promoter_apply(member=MemberFactory())
    assert promoter.status == "approved" and promoter.decided_at is not None


def test_past_a_spend_threshold_only(settings):
    settings.PROMOTER_ENROLMENT, settings.PROMOTER_SPEND_THRESHOLD = "spend", D("200")
    member = MemberFactory()
    sale(StoreFactory(), member, [("TEE", 1, "150")])

    with pytest.raises(PromoterNotEligible) as refused:
        promoter_apply(member=member)
    assert refused.value.params == {"threshold": D("200"), "spent": D("150.00")}
    assert not Promoter.objects.exists()

    sale(StoreFactory(), member, [("TEE", 1, "50")])
    assert promoter_apply(member=member).status == "approved"


def test_one_application_at_a_time_and_a_refused_member_may_ask_again():
    member = MemberFactory()
    promoter = promoter_apply(member=member)
    with pytest.raises(AlreadyPromoter):
        promoter_apply(member=member)

    promoter_decide(promoter=promoter, decision="refuse", actor=UserFactory(), reason="资料不全")
    again = promoter_apply(member=member)

    assert (again.pk, again.status, again.reason) == (promoter.pk, "applied", "")


@pytest.mark.parametrize(
    ("start", "decision", "end"),
    [
        ("applied", "approve", "approved"),
        ("applied", "refuse", "refused"),
        ("approved", "suspend", "suspended"),
        ("suspended", "reinstate", "approved"),
    ],
)
def test_hq_decides_and_it_is_audited(start, decision, end):
    promoter = Promoter.objects.create(member=MemberFactory(), status=start)
    actor = UserFactory()

    decided = promoter_decide(promoter=promoter, decision=decision, actor=actor, reason="审核")

    assert (decided.status, decided.decided_by) == (end, actor)
    entry = AuditEntry.objects.get(action=f"promoter.{decision}")
    assert (entry.actor, entry.before, entry.after) == (actor, {"status": start}, {"status": end})


@pytest.mark.parametrize(
    ("start", "decision"),
    [
        ("approved", "approve"),
        ("refused", "approve"),
        ("applied", "suspend"),
        ("approved", "reinstate"),
    ],
)
def test_a_decision_out_of_turn_changes_nothing(start, decision):
    promoter = Promoter.objects.create(member=MemberFactory(), status=start)

    with pytest.raises(PromoterNotDecidable):
        promoter_decide(promoter=promoter, decision=decision, actor=UserFactory())

    promoter.refresh_from_db()
    assert promoter.status == start
    assert not AuditEntry.objects.filter(action__startswith="promoter.").exists()

"""Review h27: an order paid between a member merge and its promoter merge earns nothing."""

from decimal import Decimal as D

import pytest

from apps.members.services import member_merge
from apps.referrals.commissions import commissions_write
from apps.referrals.merging import promoters_merge
from apps.referrals.models import Promoter
from apps.referrals.verification import commission_problems
from tests.core.factories import UserFactory
from tests.members.factories import MemberFactory
from tests.referrals.factories import customer_of, default_rate, promoter_of, sale
from tests.stores.factories import StoreFactory

pytestmark = pytest.mark.django_db


def test_an_order_paid_between_the_member_merge_and_the_promoter_merge_still_earns(
    django_capture_on_commit_callbacks,
):
    """A promoter merged into a member who is not one: until the member_merged handler
    (promoters_merge) runs, commissions_write maps the order's promoter to the survivor
    (_live_on), who has no promoter record yet, and writes no commission — for good."""
    default_rate(10, 0)
    store = StoreFactory()
    merged = promoter_of()
    survivor = MemberFactory()
    order = sale(store, customer_of(merged), [("TEE", 1, "100")])  # its event not handled yet

    with django_capture_on_commit_callbacks(execute=False):  # member_merged not handled yet
        member_merge(survivor=survivor, merged=merged.member, actor=UserFactory(), reason="同一人")
    commissions_write(order_id=order.pk)  # order_paid handled first
    promoters_merge(survivor_id=survivor.pk, merged_id=merged.member_id)

    merged.refresh_from_db()
    assert merged.member_id == survivor.pk and merged.status == Promoter.Status.APPROVED
    assert order.commissions.count() == 1, "the 10.00 commission was lost"
    assert order.commissions.get().amount == D("10.00")
    assert commission_problems() == {}

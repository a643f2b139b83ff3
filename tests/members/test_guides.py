"""One rule for crediting a guide (guide_for): only at their own store, while they work there."""

import pytest

from apps.members.guides import guide_for
from apps.members.services import member_join_or_find
from tests.distributors.factories import DistributorFactory
from tests.stores.factories import StaffFactory, StoreFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def people():
    store, other = StoreFactory(), StoreFactory()
    return {
        "store": store,
        "other": other,
        "guide": StaffFactory(store=store, role="guide"),
        "left": StaffFactory(store=store, role="guide", is_active=False),
        "elsewhere": StaffFactory(store=other, role="guide"),
        "dealer": StaffFactory(store=None, distributor=DistributorFactory(), role="manager"),
    }


@pytest.mark.parametrize(
    ("who", "at", "credited"),
    [
        ("guide", "store", True),
        ("left", "store", False),  # a guide who left the store is credited no more
        ("elsewhere", "store", False),  # another store's guide code credits no one
        ("guide", "other", False),
        ("dealer", "store", False),  # a dealer's people serve no store's members
        ("guide", None, False),  # no store, no guide
    ],
)
@pytest.mark.parametrize("by", ["staff", "code", "lower-case code"])
def test_a_guide_is_credited_only_at_their_own_store_while_they_work_there(
    people, who, at, credited, by
):
    staff = people[who]
    given = {"staff": staff, "code": staff.guide_code, "lower-case code": staff.guide_code.lower()}

    found = guide_for(people[at] if at else None, given[by])

    assert found == (staff if credited else None)


@pytest.mark.parametrize("code", ["", None, "NOSUCH"])
def test_no_code_or_an_unknown_one_credits_no_one(people, code):
    assert guide_for(people["store"], code) is None


def test_a_join_through_a_dealers_persons_code_credits_no_one(people):
    member, created = member_join_or_find(
        phone="13900000009", source="miniprogram", guide=people["dealer"]
    )

    assert created and (member.home_store, member.guide) == (None, None)

"""access_scope: HQ sees every store as its permissions say, a dealer its stores, store
people their own store; is_staff alone opens none."""

import pytest
from django.contrib.auth.models import AnonymousUser, Group

from apps.core import roles
from apps.stores.models import Staff, Store
from apps.stores.scoping import access_scope, manages_store
from tests.core.factories import UserFactory
from tests.distributors.factories import DistributorFactory
from tests.stores.factories import StaffFactory, StoreFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def brand():
    d1, d2 = DistributorFactory(code="D01"), DistributorFactory(code="D02")
    return {
        "S001": StoreFactory(code="S001"),
        "S002": StoreFactory(code="S002", kind=Store.Kind.FRANCHISE, distributor=d1),
        "S003": StoreFactory(code="S003", kind=Store.Kind.FRANCHISE, distributor=d1),
        "S004": StoreFactory(code="S004", kind=Store.Kind.FRANCHISE, distributor=d2),
        "D01": d1,
        "D02": d2,
    }


def codes(scope) -> set[str]:
    return set(scope.stores().values_list("code", flat=True))


def hq_user(*role_names):
    user = UserFactory(is_staff=True)
    user.groups.set(Group.objects.filter(name__in=role_names))
    return user


def test_is_staff_alone_opens_no_store(brand):
    scope = access_scope(UserFactory(is_staff=True))

    assert not scope.is_hq
    assert codes(scope) == set()
    assert not scope.allows_store(brand["S001"].pk)


def test_a_permission_without_is_staff_opens_no_store(brand):
    user = UserFactory(is_staff=False)
    user.groups.set(Group.objects.filter(name=roles.OPERATIONS))

    assert not access_scope(user).is_hq


@pytest.mark.parametrize("role", roles.HQ_ROLES)
def test_every_hq_role_sees_every_store(brand, role):
    scope = access_scope(hq_user(role))

    assert scope.is_hq
    assert codes(scope) == {"S001", "S002", "S003", "S004"}
    assert scope.allows_store(brand["S004"].pk)


def test_dealer_sees_only_its_stores(brand):
    user = StaffFactory(store=None, distributor=brand["D01"]).user

    scope = access_scope(user)

    assert not scope.is_hq
    assert codes(scope) == {"S002", "S003"}
    assert not scope.allows_store(brand["S001"].pk)


@pytest.mark.parametrize(
    "role", [Staff.Role.OWNER, Staff.Role.MANAGER, Staff.Role.CLERK, Staff.Role.GUIDE]
)
def test_store_people_see_only_their_store(brand, role):
    user = StaffFactory(store=brand["S002"], role=role).user

    scope = access_scope(user)

    assert codes(scope) == {"S002"}
    assert scope.allows_store(brand["S002"].pk)
    assert not scope.allows_store(brand["S003"].pk)


def test_someone_in_two_places_sees_both(brand):
    user = StaffFactory(store=brand["S001"]).user
    StaffFactory(user=user, store=None, distributor=brand["D02"])

    assert codes(access_scope(user)) == {"S001", "S004"}


def test_inactive_staff_inactive_accounts_strangers_and_anonymous_see_nothing(brand):
    inactive_staff = StaffFactory(store=brand["S001"], is_active=False).user
    inactive_account = StaffFactory(store=brand["S001"], user__is_active=False).user

    for user in [inactive_staff, inactive_account, UserFactory(), AnonymousUser(), None]:
        scope = access_scope(user)
        assert not scope.is_hq
        assert codes(scope) == set()
        assert not scope.allows_store(brand["S001"].pk)


def test_filter_narrows_any_store_keyed_queryset(brand):
    StaffFactory(store=brand["S001"])
    StaffFactory(store=brand["S003"])
    dealer = StaffFactory(store=None, distributor=brand["D01"]).user

    visible = access_scope(dealer).filter(Staff.objects.filter(store__isnull=False))

    assert {staff.store.code for staff in visible} == {"S003"}
    hq_visible = access_scope(hq_user(roles.FINANCE)).filter(
        Staff.objects.filter(store__isnull=False)
    )
    assert hq_visible.count() == 2


@pytest.mark.parametrize(
    ("role", "manages"),
    [(roles.OPERATIONS, True), (roles.MARKETING, False), (roles.FINANCE, False)],
)
def test_of_hq_only_those_who_may_change_stores_manage_one(brand, role, manages):
    assert manages_store(hq_user(role), brand["S001"]) is manages


def test_manages_store_store_people(brand):
    owner = StaffFactory(store=brand["S001"], role=Staff.Role.OWNER).user
    clerk = StaffFactory(store=brand["S001"], role=Staff.Role.CLERK).user

    assert manages_store(owner, brand["S001"]) and not manages_store(owner, brand["S002"])
    assert not manages_store(clerk, brand["S001"])
    assert not manages_store(UserFactory(is_staff=True), brand["S001"])
    assert not manages_store(AnonymousUser(), brand["S001"])


def test_scope_costs_one_query(brand, django_assert_num_queries):
    user = StaffFactory(store=None, distributor=brand["D01"]).user

    with django_assert_num_queries(1):
        access_scope(user)

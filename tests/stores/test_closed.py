"""A closed or suspended store does no business: its POS keys, joins to it and every form
of its dashboard are refused with a clear message; its pages still show."""

import pytest
from django.contrib.auth.models import Group
from django.test import Client

from apps.core import roles
from apps.coupons.models import Coupon
from apps.members.models import Member, MemberTag, StoreVisit
from apps.orders.models import Order
from apps.stores.errors import StoreClosed
from apps.stores.models import PosApiKey, Store
from apps.stores.rules import store_open_check
from tests.core.factories import UserFactory
from tests.coupons.factories import CouponTemplateFactory
from tests.members.factories import MemberFactory, member_client
from tests.stores.factories import StaffFactory, StoreFactory, pos_key_for

pytestmark = pytest.mark.django_db

CLOSED = {
    Store.Status.CLOSED: "门店 S001 已关闭：不再办理销售、开卡或支付。",
    Store.Status.SUSPENDED: "门店 S001 已暂停营业：总部恢复营业前不办理销售、开卡或支付。",
}


@pytest.fixture(params=[Store.Status.CLOSED, Store.Status.SUSPENDED])
def shut(request):
    """Store S001, closed or suspended, with a POS key made while it was open."""
    store = StoreFactory(code="S001")
    raw_key = pos_key_for(store)
    Store.objects.filter(pk=store.pk).update(status=request.param)
    store.refresh_from_db()
    return {"store": store, "key": raw_key, "message": CLOSED[request.param]}


def test_the_rule_refuses_closed_and_suspended_stores_only():
    for status, message in CLOSED.items():
        with pytest.raises(StoreClosed) as refused:
            store_open_check(StoreFactory.build(code="S001", status=status))
        assert (refused.value.code, refused.value.status, refused.value.render()) == (
            "store_closed",
            403,
            message,
        )
    store_open_check(StoreFactory.build(code="S001", status=Store.Status.OPEN))


# The till.


def test_a_closed_stores_pos_key_is_refused_in_its_one_query(
    api_client, shut, django_assert_num_queries
):
    with django_assert_num_queries(1):  # the key's row with its store's, as for an open store
        response = api_client.get("/api/pos/v1/store", HTTP_AUTHORIZATION=f"Api-Key {shut['key']}")

    assert response.status_code == 403
    assert response.json() == {"code": "store_closed", "message": shut["message"]}
    assert PosApiKey.objects.get().last_used_at is None


def test_a_closed_stores_till_cannot_sell(api_client, shut):
    response = api_client.post(
        "/api/pos/v1/orders",
        {"external_id": "T-1", "lines": [{"sku": "X", "quantity": 1, "unit_price": "10.00"}]},
        format="json",
        HTTP_AUTHORIZATION=f"Api-Key {shut['key']}",
        HTTP_IDEMPOTENCY_KEY="T-1",
    )

    assert response.status_code == 403
    assert response.json()["code"] == "store_closed"
    assert not Order.objects.exists()


def test_an_open_stores_key_still_works(api_client):
    raw_key = pos_key_for(StoreFactory(code="S002"))

    response = api_client.get("/api/pos/v1/store", HTTP_AUTHORIZATION=f"Api-Key {raw_key}")

    assert response.status_code == 200


# Joins.


def test_joining_a_closed_store_by_its_code_is_refused(api_client, shut):
    member = MemberFactory(home_store=None)
    client = member_client(api_client, member)

    response = client.post(f"/api/v1/stores/{shut['store'].code}/join", {}, format="json")

    assert response.status_code == 403
    assert response.json() == {"code": "store_closed", "message": shut["message"]}
    member.refresh_from_db()
    assert member.home_store is None
    assert not StoreVisit.objects.exists()


def test_signing_in_with_a_closed_stores_code_is_refused_and_makes_no_member(api_client, shut):
    response = api_client.post(
        "/api/v1/auth/login",
        {"phone": "13800000000", "code": "123456", "store_code": "S001"},
        format="json",
    )

    assert response.status_code == 403
    assert response.json() == {"code": "store_closed", "message": shut["message"]}
    assert not Member.objects.exists()


def test_a_member_who_joined_already_signs_in_through_a_closed_stores_code(api_client, shut):
    member = MemberFactory(phone="13800000000", home_store=None)

    response = api_client.post(
        "/api/v1/auth/login",
        {"phone": "13800000000", "code": "123456", "store_code": "S001"},
        format="json",
    )

    assert response.status_code == 200
    assert response.json()["created"] is False
    member.refresh_from_db()
    assert member.home_store is None
    assert not StoreVisit.objects.exists()


def test_signing_in_with_a_closed_stores_guide_code_is_refused(api_client, shut):
    guide = StaffFactory(store=shut["store"], role="guide")

    response = api_client.post(
        "/api/v1/auth/login",
        {"phone": "13800000000", "code": "123456", "guide_code": guide.guide_code},
        format="json",
    )

    assert response.status_code == 403
    assert not Member.objects.exists()


# The dashboard: pages show, forms are refused.


@pytest.fixture
def owner(shut):
    client = Client()
    client.force_login(StaffFactory(store=shut["store"], role="owner").user)
    return client


def test_a_closed_stores_pages_still_show_with_why_nothing_can_be_done(owner, shut):
    for page in ("", "members/", "counter/", "guides/"):
        response = owner.get(f"/dashboard/stores/S001/{page}")
        assert response.status_code == 200, page
        assert shut["message"] in response.content.decode()


def test_the_counter_of_a_closed_store_refuses_to_identify_or_sell(owner, shut):
    MemberFactory(phone="13900001111", home_store=shut["store"])

    identified = owner.post("/dashboard/stores/S001/counter/identify/", {"who": "13900001111"})
    sold = owner.post("/dashboard/stores/S001/counter/sale/", {"lines-TOTAL_FORMS": 0})

    assert (identified.status_code, sold.status_code) == (403, 403)
    assert shut["message"] in identified.content.decode()
    assert not any(key.startswith("counter-member") for key, _value in owner.session.items())
    assert not Order.objects.exists()


def test_a_closed_stores_owner_gives_and_tags_nothing(owner, shut):
    member = MemberFactory(home_store=shut["store"])
    template = CouponTemplateFactory(per_store_limit=5, claimable=False)

    gift = owner.post(
        f"/dashboard/stores/S001/members/{member.pk}/gift/",
        {"key": "g1", "template": template.pk},
    )
    tag = owner.post(f"/dashboard/stores/S001/members/{member.pk}/tag/", {"name": "VIP"})

    assert (gift.status_code, tag.status_code) == (403, 403)
    assert not Coupon.objects.exists()
    assert not MemberTag.objects.exists()


def test_hq_sees_a_closed_store_read_only_too(shut):
    hq = UserFactory(is_staff=True)
    hq.groups.add(Group.objects.get(name=roles.OPERATIONS))
    client = Client()
    client.force_login(hq)

    assert client.get("/dashboard/stores/S001/").status_code == 200
    assert client.post("/dashboard/stores/S001/counter/forget/").status_code == 403

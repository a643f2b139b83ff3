"""Deleting an account and joining again with the same phone earns no welcome twice: no join
gift, join points or growth, new-member coupon or referral reward. Huiji keeps only a keyed
hash of the deleted phone. And a guide code of another store credits no one."""

import pytest
from django.test import override_settings

from apps.coupons.models import Coupon, CouponTemplate
from apps.members.models import DeletedPhone, Member, StoreVisit
from apps.members.returning import phone_hash
from apps.members.services import member_delete, member_join_or_find, member_store_join
from apps.points.models import EarningRule
from apps.points.selectors import points_available
from apps.referrals.models import Referral
from apps.tiers.models import GrowthEntry
from tests.coupons.factories import CouponTemplateFactory
from tests.members.factories import MemberFactory, member_client
from tests.stores.factories import StaffFactory, StoreFactory

pytestmark = pytest.mark.django_db

PHONE = "13800000000"  # a test number: its code is 123456 (config/settings/test.py)
AutoIssue = CouponTemplate.AutoIssue


@pytest.fixture
def welcome():
    """What a brand gives a new member and their referrer."""
    return {
        "gift": CouponTemplateFactory(name="开卡礼", auto_issue=AutoIssue.JOIN, claimable=False),
        "referral": CouponTemplateFactory(
            name="推荐有礼", auto_issue=AutoIssue.REFERRAL, claimable=False
        ),
        "new_only": CouponTemplateFactory(name="新人券", new_members_only=True),
        "points": EarningRule.objects.create(
            name="开卡送积分", kind="bonus", event="join", points=200
        ),
    }


def join(api_client, capture, *, referrer: Member, **extra) -> Member:
    with capture(execute=True):
        response = api_client.post(
            "/api/v1/auth/login",
            {"phone": PHONE, "code": "123456", "referral_code": referrer.referral_code, **extra},
            format="json",
        )
    assert response.status_code == 200, response.content
    return Member.objects.get(pk=response.json()["member"]["id"])


def templates_held(member: Member) -> list[str]:
    return sorted(Coupon.objects.filter(member=member).values_list("template__name", flat=True))


def join_growth(member: Member) -> int:
    return sum(GrowthEntry.objects.filter(member=member).values_list("amount", flat=True))


def test_a_member_joining_for_the_first_time_gets_the_whole_welcome(
    api_client, django_capture_on_commit_callbacks, welcome
):
    referrer = MemberFactory()

    member = join(api_client, django_capture_on_commit_callbacks, referrer=referrer)
    claim = member_client(api_client, member).post(
        f"/api/v1/coupons/{welcome['new_only'].pk}/claim"
    )

    assert member.returning is False
    assert templates_held(member) == ["开卡礼", "新人券"] and claim.status_code == 201
    assert points_available(member) == 200
    assert join_growth(member) == 100
    # nothing for the referrer at joining: referral rewards wait for the first order
    assert templates_held(referrer) == []
    assert Referral.objects.get(referee=member, referrer=referrer).status == "waiting"


def test_joining_again_after_deleting_the_account_earns_no_welcome(
    api_client, django_capture_on_commit_callbacks, welcome
):
    first_referrer, second_referrer = MemberFactory(), MemberFactory()
    first = join(api_client, django_capture_on_commit_callbacks, referrer=first_referrer)
    member_delete(member=first)

    again = join(api_client, django_capture_on_commit_callbacks, referrer=second_referrer)
    claim = member_client(api_client, again).post(f"/api/v1/coupons/{welcome['new_only'].pk}/claim")

    assert again.pk != first.pk and again.returning is True
    assert templates_held(again) == []  # no join gift
    assert points_available(again) == 0  # no join points
    assert join_growth(again) == 0  # no join growth
    assert (
        claim.status_code == 403 and claim.json()["code"] == "not_eligible"
    )  # no new-member coupon
    assert templates_held(second_referrer) == []  # no referral reward, then or ever:
    assert Referral.objects.get(referee=again).void_reason == "returning"


def test_the_new_member_coupon_is_not_offered_to_a_returning_member(
    api_client, django_capture_on_commit_callbacks, welcome
):
    def offered(member: Member) -> list[int]:
        rows = member_client(api_client, member).get("/api/v1/coupons/claimable").json()
        return [row["id"] for row in rows]

    first = join(api_client, django_capture_on_commit_callbacks, referrer=MemberFactory())
    offered_first = offered(first)
    member_delete(member=first)
    again = join(api_client, django_capture_on_commit_callbacks, referrer=MemberFactory())

    assert offered_first == [welcome["new_only"].pk]
    assert offered(again) == []


def test_only_a_keyed_hash_of_the_deleted_phone_is_kept():
    member = MemberFactory(phone=PHONE)

    member_delete(member=member)
    member_delete(member=member)  # a second deletion records nothing more

    kept = list(DeletedPhone.objects.values_list("phone_hash", flat=True))
    assert kept == [phone_hash(PHONE)]
    assert PHONE not in kept[0] and len(kept[0]) == 64
    with override_settings(DELETED_PHONE_KEY="another-key"):
        assert phone_hash(PHONE) != kept[0]  # without the key, no number can be tried against it


def test_another_phone_is_not_taken_for_a_returning_one():
    member_delete(member=MemberFactory(phone=PHONE))

    other, created = member_join_or_find(phone="13900000001", source="miniprogram")

    assert created and other.returning is False


# A guide code of another store


@pytest.fixture
def two_stores():
    store_a, store_b = StoreFactory(), StoreFactory()
    return store_a, store_b, StaffFactory(store=store_b, role="guide")


def test_joining_store_a_with_a_guide_code_of_store_b_binds_no_guide(
    api_client, django_capture_on_commit_callbacks, two_stores
):
    store_a, _store_b, guide_b = two_stores

    member = join(
        api_client,
        django_capture_on_commit_callbacks,
        referrer=MemberFactory(),
        store_code=store_a.code,
        guide_code=guide_b.guide_code,
    )

    assert (member.home_store, member.guide) == (store_a, None)
    assert list(StoreVisit.objects.filter(member=member).values_list("store", "guide")) == [
        (store_a.pk, None)
    ]
    assert not Member.objects.filter(guide=guide_b).exists()  # nothing on B's guide board


def test_joining_with_a_guide_code_of_the_same_store_binds_the_guide(two_stores):
    _store_a, store_b, guide_b = two_stores

    member, _created = member_join_or_find(
        phone="13900000002", source="miniprogram", store=store_b, guide=guide_b
    )

    assert (member.home_store, member.guide) == (store_b, guide_b)


def test_scanning_store_a_with_a_guide_code_of_store_b_credits_no_one(api_client, two_stores):
    store_a, _store_b, guide_b = two_stores
    member = MemberFactory()

    response = member_client(api_client, member).post(
        f"/api/v1/stores/{store_a.code}/join", {"guide_code": guide_b.guide_code}, format="json"
    )

    member.refresh_from_db()
    assert response.status_code == 200
    assert (member.home_store, member.guide) == (store_a, None)
    assert list(StoreVisit.objects.filter(member=member).values_list("store", "guide")) == [
        (store_a.pk, None)
    ]


def test_a_guide_who_left_the_store_is_credited_no_more(two_stores):
    _store_a, store_b, guide_b = two_stores
    guide_b.is_active = False
    guide_b.save()

    member = member_store_join(member=MemberFactory(), store=store_b, guide=guide_b)

    assert (member.home_store, member.guide) == (store_b, None)

"""POS members/identify by member code (会员码) or phone."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.members.credentials import member_code_issue, member_code_member, member_code_spend
from apps.members.errors import MemberCodeExpired, MemberNotFound
from apps.members.models import Member
from tests.members.factories import MemberFactory
from tests.stores.factories import StoreFactory, pos_key_for

pytestmark = pytest.mark.django_db

URL = "/api/pos/v1/members/identify"


@pytest.fixture
def pos(api_client):
    api_client.credentials(HTTP_AUTHORIZATION=f"Api-Key {pos_key_for(StoreFactory())}")
    return api_client


@pytest.fixture
def member():
    return MemberFactory(phone="13912345678", name="林晓")


def test_identify_by_member_code(pos, member):
    code, _expires = member_code_issue(member=member)

    response = pos.post(URL, {"member_code": code}, format="json")

    assert response.status_code == 200
    assert response.json() == {
        "member_id": member.pk,
        "phone_masked": "139****5678",
        "name": "林晓",
        "tier": None,
        "points_available": 0,
        "coupons": [],
    }


def test_identify_by_phone_as_the_cashier_types_it(pos, member):
    response = pos.post(URL, {"phone": "139 1234 5678"}, format="json")

    assert response.json()["member_id"] == member.pk


def test_unknown_phone_or_forged_code_is_not_found(pos, member):
    code, _expires = member_code_issue(member=member)
    forged = code[:-1] + str((int(code[-1]) + 1) % 10)

    for body in [{"phone": "13700000000"}, {"member_code": forged}, {"member_code": "abc"}]:
        response = pos.post(URL, body, format="json")
        assert response.status_code == 404, body
        assert response.json()["code"] == "not_found"


def test_old_member_code_has_expired(pos, member):
    code, _expires = member_code_issue(member=member, now=timezone.now() - timedelta(minutes=3))

    response = pos.post(URL, {"member_code": code}, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "expired"


def test_code_lives_at_most_two_minutes():
    member = MemberFactory()
    made = timezone.now()
    code, expires_at = member_code_issue(member=member, now=made)

    assert member_code_member(code, now=made + timedelta(seconds=59)) == member
    assert member_code_member(code, now=expires_at - timedelta(seconds=1)) == member
    with pytest.raises(MemberCodeExpired):
        member_code_member(code, now=expires_at + timedelta(seconds=1))
    assert expires_at - made <= timedelta(seconds=120)


def test_a_spent_code_cannot_be_used_at_a_second_checkout(pos, member):
    code, _expires = member_code_issue(member=member)

    member_code_spend(code=code)
    with pytest.raises(MemberCodeExpired):
        member_code_spend(code=code)
    assert pos.post(URL, {"member_code": code}, format="json").json()["code"] == "expired"


def test_code_of_a_deleted_member_is_not_found(member):
    code, _expires = member_code_issue(member=member)
    Member.objects.filter(pk=member.pk).update(status=Member.Status.DELETED, phone=None)

    with pytest.raises(MemberNotFound):
        member_code_member(code)


@pytest.mark.parametrize(
    "body", [{}, {"phone": "13912345678", "member_code": "6"}, {"phone": "010-1234"}]
)
def test_identify_needs_exactly_one_valid_way(pos, member, body):
    response = pos.post(URL, body, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"


def test_identify_needs_a_store_key(api_client, member):
    assert api_client.post(URL, {"phone": "13912345678"}, format="json").status_code == 401

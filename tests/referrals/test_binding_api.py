"""A member who signs in through a promoter's link is bound to them, as HQ's rule says."""

import pytest

from apps.members.models import Member, PromoterBinding
from tests.members.factories import MemberFactory
from tests.referrals.factories import promoter_of

pytestmark = pytest.mark.django_db


def login(client, phone, **fields):
    return client.post(
        "/api/v1/auth/login", {"phone": phone, "code": "123456", **fields}, format="json"
    )


def test_a_new_member_through_a_promoters_link_is_bound_to_them(api_client):
    promoter = promoter_of()

    response = login(api_client, "13800000000", promoter_code=promoter.member.referral_code)

    assert response.status_code == 200
    binding = PromoterBinding.objects.get()
    assert (binding.member, binding.promoter, binding.source, binding.ends_at) == (
        Member.objects.get(phone="13800000000"),
        promoter.member,
        "link",
        None,
    )


@pytest.mark.parametrize("status", ["applied", "refused", "suspended"])
def test_a_code_of_no_approved_promoter_binds_no_one(api_client, status):
    promoter = promoter_of(status=status)

    assert (
        login(api_client, "13800000000", promoter_code=promoter.member.referral_code).status_code
        == 200
    )
    assert not PromoterBinding.objects.exists()


def test_a_promoters_own_code_binds_no_one_and_the_sign_in_goes_on(api_client):
    promoter = promoter_of(MemberFactory(phone="13800000000"))

    response = login(api_client, "13800000000", promoter_code=promoter.member.referral_code)

    assert response.status_code == 200 and response.json()["created"] is False
    assert not PromoterBinding.objects.exists()


def test_an_existing_member_is_bound_only_if_hq_says_so(api_client, settings):
    promoter = promoter_of()
    MemberFactory(phone="13800000000")
    settings.PROMOTER_BIND_EXISTING = False

    login(api_client, "13800000000", promoter_code=promoter.member.referral_code)
    assert not PromoterBinding.objects.exists()

    settings.PROMOTER_BIND_EXISTING = True
    login(api_client, "13800000000", promoter_code=promoter.member.referral_code)
    assert PromoterBinding.objects.get().promoter == promoter.member

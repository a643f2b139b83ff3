"""GET me/referrals: the member's code and link and the friends they brought, masked, with
each reward's state; never another member's friends; flat in queries."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.members.models import Member
from apps.referrals.models import Referral, ReferralFlag, ReferralReward, ReferralRule
from apps.referrals.rewards import referral_record
from apps.referrals.selectors import INVITED_SHOWN, referral_link
from tests.members.factories import MemberFactory, member_client
from tests.stores.test_posters import decode

pytestmark = pytest.mark.django_db


def referred(referrer, **fields) -> Referral:
    friend = MemberFactory(referrer=referrer)
    referral = referral_record(referee_id=friend.pk, referrer_id=referrer.pk)
    if fields:
        Referral.objects.filter(pk=referral.pk).update(**fields)
    return referral


def test_a_member_sees_their_code_link_and_friends(api_client):
    ReferralRule.objects.create(name="老带新", referrer_points=100)
    me = MemberFactory()
    waiting = referred(me)
    ordered = referred(me, status="ordered", due_at=timezone.now())
    rewarded = referred(me, status="rewarded")
    ReferralReward.objects.create(
        referral=rewarded, side="referrer", member=me, given_on=timezone.localdate()
    )
    limited = referred(me, status="rewarded")
    void = referred(me, status="void", void_reason="refunded")
    flagged = referred(me)
    ReferralFlag.objects.create(referral=flagged, reason="same_address")

    answer = member_client(api_client, me).get("/api/v1/me/referrals")

    assert answer.status_code == 200
    body = answer.json()
    assert body["code"] == me.referral_code
    assert body["link"].endswith(f"/m/login?ref={me.referral_code}")
    assert body["invited_count"] == 6
    statuses = {row["phone_masked"]: row["reward_status"] for row in body["invited"]}
    assert statuses == {
        waiting.referee.phone_masked: "waiting",
        ordered.referee.phone_masked: "pending",
        rewarded.referee.phone_masked: "rewarded",
        limited.referee.phone_masked: "limit_reached",
        void.referee.phone_masked: "none",
        flagged.referee.phone_masked: "pending",  # held for review: not told why
    }
    assert all("****" in row["phone_masked"] for row in body["invited"])


def test_another_members_friends_are_never_shown(api_client):
    me, other = MemberFactory(), MemberFactory()
    referred(other)
    referred(other)

    body = member_client(api_client, me).get("/api/v1/me/referrals").json()

    assert (body["invited_count"], body["invited"]) == (0, [])
    assert body["code"] == me.referral_code


def test_signed_out_is_refused(api_client):
    assert api_client.get("/api/v1/me/referrals").status_code == 401


def test_the_list_is_bounded_and_flat_in_queries(api_client, django_assert_max_num_queries):
    me = MemberFactory()
    friends = MemberFactory.create_batch(INVITED_SHOWN + 2, referrer=me)
    now = timezone.now()
    Referral.objects.bulk_create(
        Referral(
            referee=friend,
            referrer=me,
            phone_hash=str(friend.pk),
            joined_at=now - timedelta(minutes=index),
        )
        for index, friend in enumerate(friends)
    )
    client = member_client(api_client, me)
    client.get("/api/v1/me/referrals")  # warm the caches a first request fills

    with django_assert_max_num_queries(4):
        body = client.get("/api/v1/me/referrals").json()

    assert body["invited_count"] == INVITED_SHOWN + 2
    assert len(body["invited"]) == INVITED_SHOWN
    assert body["invited"][0]["phone_masked"] == friends[0].phone_masked  # newest first


def test_a_friend_who_closed_their_account_shows_no_number(api_client):
    me = MemberFactory()
    referral = referred(me)
    Member.objects.filter(pk=referral.referee_id).update(phone=None, status="deleted")

    body = member_client(api_client, me).get("/api/v1/me/referrals").json()

    assert body["invited"][0]["phone_masked"] == ""


def test_joining_with_a_referral_code_records_the_address_and_device(
    api_client, django_capture_on_commit_callbacks
):
    referrer = MemberFactory()

    with django_capture_on_commit_callbacks(execute=True):
        answer = api_client.post(
            "/api/v1/auth/login",
            {
                "phone": "13800000000",
                "code": "123456",
                "referral_code": referrer.referral_code,
                "device_id": "wx-device-1",
            },
            format="json",
            REMOTE_ADDR="203.0.113.9",
        )

    assert answer.status_code == 200
    referral = Referral.objects.get(referrer=referrer)
    assert referral.referee_id == answer.json()["member"]["id"]
    assert (referral.requester, referral.device, referral.status) == (
        "203.0.113.9",
        "wx-device-1",
        "waiting",
    )


def test_signing_in_again_with_a_code_records_no_referral(
    api_client, django_capture_on_commit_callbacks
):
    member = MemberFactory(phone="13800000000")

    with django_capture_on_commit_callbacks(execute=True):
        api_client.post(
            "/api/v1/auth/login",
            {"phone": "13800000000", "code": "123456", "referral_code": member.referral_code},
            format="json",
        )

    assert not Referral.objects.exists()


def test_the_poster_is_a_png_whose_qr_is_their_referral_link(api_client, settings):
    settings.SITE_URL = "https://vip.example.cn"
    member = MemberFactory()
    client = member_client(api_client, member)

    poster = client.get("/api/v1/me/referrals/poster.png")

    assert poster.status_code == 200
    assert poster["Content-Type"] == "image/png"
    assert decode(poster.content) == [referral_link(member)]
    assert referral_link(member).endswith(f"?ref={member.referral_code}")
    assert (
        client.get("/api/v1/me/referrals")
        .json()["poster_url"]
        .endswith("/api/v1/me/referrals/poster.png")
    )


def test_the_poster_is_for_a_signed_in_member_only(api_client):
    assert api_client.get("/api/v1/me/referrals/poster.png").status_code == 401

"""The member's own profile, member code and store join (API.md, mini-program)."""

import io
from datetime import date, timedelta

import pytest
import zxingcpp
from django.utils import timezone
from PIL import Image

from apps.members.credentials import member_code_issue, member_code_member
from apps.members.models import Member, StoreVisit
from tests.members.factories import MemberFactory, member_client
from tests.stores.factories import StaffFactory, StoreFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def member():
    return MemberFactory(phone="13912345678", name="林晓")


@pytest.fixture
def client(api_client, member):
    return member_client(api_client, member)


def test_me_shows_the_member_of_api_md(client, member):
    response = client.get("/api/v1/me")

    assert response.status_code == 200
    assert response.json() == {
        "id": member.pk,
        "phone_masked": "139****5678",
        "name": "林晓",
        "gender": "",
        "birthday": None,
        "referral_code": member.referral_code,
        "marketing_consent": False,
        "tier": None,
        "growth": {
            "value": 0,
            "next_tier": None,
            "to_next": None,
            "to_keep": None,
            "next_tier_name": None,
            "keep_by": None,
        },
        "points": {"available": 0, "pending": 0, "expiring": []},
        "home_store": None,
        "points_windows": {
            use: {
                "limited": False,
                "open": True,
                "closes_on": None,
                "next_opens_on": None,
                "name": "",
            }
            for use in ("exchange", "deduction")
        },
    }


def test_me_needs_a_token(api_client):
    response = api_client.get("/api/v1/me")

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_profile_update(client, member):
    response = client.patch(
        "/api/v1/me",
        {"name": "林小晓", "gender": "female", "birthday": "1992-05-20"},
        format="json",
    )

    assert response.status_code == 200
    member.refresh_from_db()
    assert (member.name, member.gender, member.birthday) == ("林小晓", "female", date(1992, 5, 20))


def test_birthday_can_be_set_once_and_a_failed_update_changes_nothing(client, member):
    client.patch("/api/v1/me", {"birthday": "1992-05-20"}, format="json")

    response = client.patch("/api/v1/me", {"name": "改名", "birthday": "1993-01-01"}, format="json")

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid" and "birthday" in body["fields"]
    member.refresh_from_db()
    assert (member.name, member.birthday) == ("林晓", date(1992, 5, 20))
    assert client.patch("/api/v1/me", {"birthday": "1992-05-20"}, format="json").status_code == 200


def test_birthday_in_the_future_is_refused(client, member):
    tomorrow = timezone.localdate() + timedelta(days=1)

    response = client.patch("/api/v1/me", {"birthday": tomorrow.isoformat()}, format="json")

    assert response.status_code == 400
    assert Member.objects.get(pk=member.pk).birthday is None


@pytest.mark.parametrize(
    "body", [{"gender": "robot"}, {"birthday": "20-05-1992"}, {"name": "x" * 51}]
)
def test_malformed_profile_fields_are_invalid(client, body):
    response = client.patch("/api/v1/me", body, format="json")

    assert response.status_code == 400
    assert set(response.json()["fields"]) == set(body)


def test_member_code_is_short_lived(client):
    response = client.get("/api/v1/me/code")

    body = response.json()
    assert len(body["code"]) == 18 and body["code"].isdigit()
    expires_at = timezone.datetime.fromisoformat(body["expires_at"])
    assert timedelta(seconds=60) <= expires_at - timezone.now() <= timedelta(seconds=120)


def test_member_code_png_decodes_to_a_code_the_pos_accepts(client, member, api_client):
    png = client.get("/api/v1/me/code.png").content

    (decoded,) = [result.text for result in zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))]
    assert len(decoded) == 18 and member_code_member(decoded) == member


def test_member_code_png_draws_the_code_just_given(client, member):
    code = client.get("/api/v1/me/code").json()["code"]

    png = client.get(f"/api/v1/me/code.png?code={code}").content

    (decoded,) = [result.text for result in zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))]
    assert decoded == code


def test_member_code_png_draws_no_one_elses_code(client, member):
    code, _expires = member_code_issue(member=MemberFactory())

    response = client.get(f"/api/v1/me/code.png?code={code}")

    assert (response.status_code, response.json()["code"]) == (404, "not_found")


def test_store_card_is_public(api_client):
    StoreFactory(
        code="S002",
        name="杭州文三路店",
        kind="franchise",
        province="浙江省",
        city="杭州市",
        district="西湖区",
        address="文三路478号",
    )

    response = api_client.get("/api/v1/stores/s002")

    assert response.status_code == 200
    assert response.json() == {
        "code": "S002",
        "name": "杭州文三路店",
        "address": "浙江省杭州市西湖区文三路478号",
        "kind": "franchise",
        "pay_enabled": True,
    }


def test_unknown_store_is_not_found(api_client):
    response = api_client.get("/api/v1/stores/S999")

    assert response.status_code == 404
    assert response.json() == {"code": "not_found", "message": "门店 S999 不存在。"}


def test_joining_a_store_sets_the_home_store_only_once(client, member):
    guide = StaffFactory(role="guide")
    other = StoreFactory()

    first = client.post(
        f"/api/v1/stores/{guide.store.code}/join", {"guide_code": guide.guide_code}, format="json"
    )
    second = client.post(f"/api/v1/stores/{other.code}/join", {}, format="json")

    assert first.status_code == second.status_code == 200
    assert second.json()["home_store"]["code"] == guide.store.code
    member.refresh_from_db()
    assert (member.home_store, member.guide) == (guide.store, guide)
    assert StoreVisit.objects.filter(member=member).count() == 2  # every scan is a visit


def test_joining_an_unknown_store_is_not_found_and_changes_nothing(client, member):
    response = client.post("/api/v1/stores/S999/join", {}, format="json")

    assert response.status_code == 404
    assert StoreVisit.objects.count() == 0


def test_marketing_consent_is_given_and_withdrawn_with_its_time(client, member):
    given = client.patch("/api/v1/me", {"marketing_consent": True}, format="json")
    member.refresh_from_db()
    given_at = member.consent_at

    assert given.json()["marketing_consent"] is True
    assert (member.marketing_consent, member.consent_channel) == (True, "miniprogram")
    assert given_at is not None

    client.patch("/api/v1/me", {"marketing_consent": False}, format="json")
    member.refresh_from_db()
    assert member.marketing_consent is False and member.consent_at >= given_at


def test_a_retried_join_counts_one_visit(client, member):
    store = StoreFactory()

    first = client.post(
        f"/api/v1/stores/{store.code}/join", {}, format="json", HTTP_IDEMPOTENCY_KEY="j1"
    )
    retry = client.post(
        f"/api/v1/stores/{store.code}/join", {}, format="json", HTTP_IDEMPOTENCY_KEY="j1"
    )

    assert retry.content == first.content and retry["Idempotent-Replayed"] == "true"
    assert StoreVisit.objects.filter(member=member).count() == 1

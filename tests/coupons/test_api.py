"""The coupon endpoints of API.md, for members and for the POS."""

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from apps.coupons.issuing import coupon_claim
from apps.coupons.models import Coupon, CouponTemplate
from apps.points.selectors import points_available
from apps.points.services import points_earn
from tests.coupons.factories import CouponTemplateFactory
from tests.members.factories import MemberFactory, member_client
from tests.stores.factories import StoreFactory, pos_key_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def member():
    return MemberFactory()


@pytest.fixture
def app(api_client, member):
    return member_client(api_client, member)


def test_claiming_answers_the_coupon_of_api_md(app, member):
    template = CouponTemplateFactory(name="新人满100减20")

    response = app.post(f"/api/v1/coupons/{template.pk}/claim")

    assert response.status_code == 201
    body = response.json()
    assert body["name"] == "新人满100减20" and body["status"] == "available"
    assert (body["kind"], body["threshold"], body["amount"], body["percent_off"]) == (
        "threshold",
        "100.00",
        "20.00",
        None,
    )
    assert body["template_id"] == template.pk
    assert Coupon.objects.get(member=member).code == body["code"]


@pytest.mark.parametrize(
    ("fields", "status", "code"),
    [
        ({"total_stock": 0}, 409, "sold_out"),
        ({"new_members_only": True, "claimable": True}, 403, "not_eligible"),
        ({"active": False}, 404, "not_found"),
    ],
)
def test_claim_refusals_have_the_codes_of_api_md(app, member, fields, status, code):
    member.joined_at = member.joined_at.replace(year=2020)
    member.save()
    template = CouponTemplateFactory(**fields)

    response = app.post(f"/api/v1/coupons/{template.pk}/claim", HTTP_ACCEPT_LANGUAGE="en")

    assert (response.status_code, response.json()["code"]) == (status, code)
    assert response.json()["message"]
    assert not Coupon.objects.exists()


def test_once_sold_out_a_tap_is_answered_before_anything_is_read(app, django_assert_num_queries):
    template = CouponTemplateFactory(total_stock=1)
    first = app.post(f"/api/v1/coupons/{template.pk}/claim", HTTP_IDEMPOTENCY_KEY="tap-1")
    late = member_client(APIClient(), MemberFactory())
    assert late.post(f"/api/v1/coupons/{template.pk}/claim").json()["code"] == "sold_out"
    cache.delete(f"coupon-template:{template.pk}")  # e.g. another process, which never read it

    with django_assert_num_queries(0):  # not the token, not the template, not the stock
        response = late.post(f"/api/v1/coupons/{template.pk}/claim")
    assert (response.status_code, response.json()["code"]) == (409, "sold_out")
    signed_out = APIClient().post(f"/api/v1/coupons/{template.pk}/claim")
    assert (signed_out.status_code, signed_out.json()["code"]) == (409, "sold_out")
    # A tap with a new key: its key is looked up and its answer kept, the coupons not read.
    with CaptureQueriesContext(connection) as keyed_queries:
        keyed = late.post(f"/api/v1/coupons/{template.pk}/claim", HTTP_IDEMPOTENCY_KEY="tap-9")
    assert (keyed.status_code, keyed.json()["code"]) == (409, "sold_out")
    assert not [q for q in keyed_queries if "coupons_" in q["sql"]]

    # The first claimant, who never heard the answer, retries with the same key.
    again = app.post(f"/api/v1/coupons/{template.pk}/claim", HTTP_IDEMPOTENCY_KEY="tap-1")
    assert (again.status_code, again.json()) == (201, first.json())
    assert Coupon.objects.filter(template=template).count() == 1


def test_a_second_claim_is_limit_reached_in_chinese(app):
    template = CouponTemplateFactory()
    app.post(f"/api/v1/coupons/{template.pk}/claim")

    response = app.post(f"/api/v1/coupons/{template.pk}/claim")

    assert (response.status_code, response.json()["code"]) == (409, "limit_reached")
    assert "已" in response.json()["message"]
    assert CouponTemplate.objects.get(pk=template.pk).issued == 1


def test_claimable_lists_what_this_member_may_claim_in_flat_queries(
    app, member, django_assert_max_num_queries
):
    def listing():
        with django_assert_max_num_queries(9):
            return app.get("/api/v1/coupons/claimable").json()

    CouponTemplateFactory(name="A", total_stock=5)
    CouponTemplateFactory(name="hidden", claimable=False)
    assert [row["name"] for row in listing()] == ["A"]

    claimed = CouponTemplateFactory(name="B", total_stock=None, per_member_limit=2)
    coupon_claim(template=claimed, member=member)
    CouponTemplateFactory.create_batch(5)
    rows = {row["name"]: row for row in listing()}

    assert len(rows) == 7
    assert (rows["B"]["remaining"], rows["B"]["claimed"], rows["B"]["per_member_limit"]) == (
        None,
        1,
        2,
    )
    assert rows["A"]["remaining"] == 5


def test_the_wallet_filters_by_status_and_pages_in_flat_queries(
    app, member, django_assert_max_num_queries
):
    template = CouponTemplateFactory(total_stock=None, per_member_limit=30)
    for _ in range(25):
        coupon_claim(template=template, member=member)
    used = Coupon.objects.first()
    Coupon.objects.filter(pk=used.pk).update(status="used", used_at=used.issued_at)

    with django_assert_max_num_queries(5):
        page = app.get("/api/v1/me/coupons?status=available").json()

    assert page["count"] == 24 and len(page["results"]) == 20
    assert app.get("/api/v1/me/coupons?status=used").json()["count"] == 1
    assert app.get("/api/v1/me/coupons?status=bogus").json()["code"] == "invalid"


def test_a_coupon_qr_is_only_for_its_owner(app, member, api_client):
    coupon = coupon_claim(template=CouponTemplateFactory(), member=member)

    image = app.get(f"/api/v1/me/coupons/{coupon.code}.png")
    stranger = member_client(api_client, MemberFactory()).get(
        f"/api/v1/me/coupons/{coupon.code}.png"
    )

    assert image.status_code == 200 and image["Content-Type"] == "image/png"
    assert stranger.status_code == 404


def test_exchanging_with_an_idempotency_key_spends_once(app, member):
    template = CouponTemplateFactory(claimable=False, points_price=300, per_member_limit=5)
    points_earn(
        member=member, amount=1000, key="seed", cause_kind="admin", description="t", pending=False
    )

    first = app.post(f"/api/v1/coupons/{template.pk}/exchange", HTTP_IDEMPOTENCY_KEY="tap-1")
    again = app.post(f"/api/v1/coupons/{template.pk}/exchange", HTTP_IDEMPOTENCY_KEY="tap-1")

    assert first.status_code == again.status_code == 201
    assert first.json()["code"] == again.json()["code"]
    assert Coupon.objects.count() == 1


def test_exchanging_without_an_idempotency_key_is_refused_and_spends_nothing(app, member):
    template = CouponTemplateFactory(claimable=False, points_price=300, per_member_limit=5)
    points_earn(
        member=member, amount=1000, key="seed", cause_kind="admin", description="t", pending=False
    )

    response = app.post(f"/api/v1/coupons/{template.pk}/exchange")

    assert response.status_code == 400
    assert response.json() == {
        "code": "invalid",
        "message": "请在请求中带上 Idempotency-Key 请求头，重试时使用同一个值。",
    }
    assert Coupon.objects.count() == 0 and points_available(member) == 1000


def test_the_pos_redeems_and_identify_lists_usable_coupons(api_client, member):
    store = StoreFactory()
    api_client.credentials(HTTP_AUTHORIZATION=f"Api-Key {pos_key_for(store)}")
    usable = coupon_claim(template=CouponTemplateFactory(name="本店可用"), member=member)
    elsewhere = CouponTemplateFactory(name="别店专用")
    elsewhere.usable_stores.add(StoreFactory())
    coupon_claim(template=elsewhere, member=member)

    identified = api_client.post(
        "/api/pos/v1/members/identify", {"phone": member.phone}, format="json"
    )
    redeemed = api_client.post(
        f"/api/pos/v1/coupons/{usable.code}/redeem", {"external_id": "T-1"}, format="json"
    )
    again = api_client.post(f"/api/pos/v1/coupons/{usable.code}/redeem", {}, format="json")
    unknown = api_client.post("/api/pos/v1/coupons/NOPE/redeem", {}, format="json")

    assert [c["name"] for c in identified.json()["coupons"]] == ["本店可用"]
    assert (redeemed.status_code, redeemed.json()["status"]) == (200, "used")
    assert (again.status_code, again.json()["code"]) == (409, "already_used")
    assert (unknown.status_code, unknown.json()["code"]) == (404, "not_found")

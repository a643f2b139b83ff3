"""What the wallet and the claimable list tell a member about each coupon: its terms, where
it can be used and until when, in as many queries for one coupon as for twenty."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from apps.coupons.issuing import coupon_claim
from tests.coupons.factories import CouponTemplateFactory
from tests.members.factories import MemberFactory, member_client
from tests.stores.factories import StoreFactory, pos_key_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def member():
    return MemberFactory(phone="13912345678")


@pytest.fixture
def app(api_client, member):
    return member_client(api_client, member)


def shop_only_template(*stores, **fields):
    template = CouponTemplateFactory(channels="store", **fields)
    template.usable_stores.add(*stores)
    return template


def test_a_wallet_coupon_says_where_it_can_be_used_and_its_terms(app, member):
    s2, s1 = StoreFactory(code="S002", name="静安店"), StoreFactory(code="S001", name="徐汇店")
    coupon_claim(
        template=shop_only_template(
            s2,
            s1,
            name="门店八折",
            kind="percent",
            threshold=None,
            amount=None,
            percent_off=Decimal("20"),
            max_discount=Decimal("50"),
            description="特价商品除外",
        ),
        member=member,
    )
    coupon_claim(template=CouponTemplateFactory(name="满100减20"), member=member)

    rows = {row["name"]: row for row in app.get("/api/v1/me/coupons").json()["results"]}

    shop = rows["门店八折"]
    assert (shop["percent_off"], shop["max_discount"], shop["description"]) == (
        "20.00",
        "50.00",
        "特价商品除外",
    )
    assert shop["usable_in"] == {
        "channels": ["store"],
        "stores": [{"code": "S001", "name": "徐汇店"}, {"code": "S002", "name": "静安店"}],
    }
    anywhere = rows["满100减20"]
    assert (anywhere["threshold"], anywhere["amount"], anywhere["max_discount"]) == (
        "100.00",
        "20.00",
        None,
    )
    assert anywhere["usable_in"] == {"channels": ["store", "miniprogram", "mall"], "stores": None}


def test_a_claimable_template_shows_its_terms_and_validity(app):
    until = timezone.now() + timedelta(days=60)
    shop_only_template(
        StoreFactory(code="S003", name="浦东店"),
        name="浦东店满200减30",
        threshold=Decimal("200"),
        amount=Decimal("30"),
        valid_days=None,
        valid_until=until,
        description="每单限用一张",
    )
    CouponTemplateFactory(name="七天券", valid_days=7)

    rows = {row["name"]: row for row in app.get("/api/v1/coupons/claimable").json()}

    shop = rows["浦东店满200减30"]
    assert (shop["threshold"], shop["amount"], shop["percent_off"], shop["max_discount"]) == (
        "200.00",
        "30.00",
        None,
        None,
    )
    assert (shop["description"], shop["valid_days"]) == ("每单限用一张", None)
    assert shop["valid_until"] == timezone.localtime(until).isoformat()
    assert shop["usable_in"] == {
        "channels": ["store"],
        "stores": [{"code": "S003", "name": "浦东店"}],
    }
    week = rows["七天券"]
    assert (week["valid_days"], week["valid_until"], week["usable_in"]["stores"]) == (7, None, None)


def test_the_pos_sees_where_an_identified_coupon_can_be_used(api_client, member):
    store = StoreFactory(code="S009", name="南京西路店")
    coupon_claim(template=shop_only_template(store, name="本店专用"), member=member)
    api_client.credentials(HTTP_AUTHORIZATION=f"Api-Key {pos_key_for(store)}")

    body = api_client.post(
        "/api/pos/v1/members/identify", {"phone": member.phone}, format="json"
    ).json()

    assert body["coupons"][0]["usable_in"] == {
        "channels": ["store"],
        "stores": [{"code": "S009", "name": "南京西路店"}],
    }


@pytest.mark.parametrize("page_size", [1, 20])
def test_the_wallet_costs_the_same_queries_for_one_coupon_or_twenty(
    app, member, page_size, django_assert_max_num_queries
):
    stores = StoreFactory.create_batch(3)
    for n in range(page_size):
        coupon_claim(template=shop_only_template(*stores[: n % 3 + 1]), member=member)

    with django_assert_max_num_queries(5):
        body = app.get(f"/api/v1/me/coupons?page_size={page_size}").json()

    assert len(body["results"]) == page_size
    assert all(row["usable_in"]["stores"] for row in body["results"])


@pytest.mark.parametrize("templates", [1, 20])
def test_claimable_costs_the_same_queries_for_one_template_or_twenty(
    app, templates, django_assert_max_num_queries
):
    stores = StoreFactory.create_batch(3)
    for n in range(templates):
        shop_only_template(*stores[: n % 3 + 1])

    with django_assert_max_num_queries(9):
        rows = app.get("/api/v1/coupons/claimable").json()

    assert len(rows) == templates
    assert all(row["usable_in"]["stores"] for row in rows)

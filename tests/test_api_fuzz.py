"""Both APIs fuzzed from the OpenAPI schema they serve (schemathesis): whatever a client sends,
no answer is a server error, every error has the body of API.md, and every answer (status,
content type, headers, body) is one the schema documents, so that a client generated from
the schema can read it. Bounded (MAX_EXAMPLES a case kind per operation) to stay a couple
of minutes in CI."""

import os
from decimal import Decimal

import pytest
import schemathesis
from django.core import signals
from django.core.cache import cache
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections, transaction
from hypothesis import HealthCheck, settings

from apps.core.models import IdempotencyKey
from apps.coupons.issuing import coupon_claim
from apps.members.credentials import member_token_issue
from apps.points.models import EarningRule
from apps.points.services import points_earn
from tests.coupons.factories import CouponTemplateFactory
from tests.mall.factories import SkuFactory
from tests.members.factories import MemberFactory
from tests.stores.factories import StoreFactory, pos_key_for

# Cases a kind of generation makes per operation; API_FUZZ_EXAMPLES=150 for a deeper run.
MAX_EXAMPLES = int(os.environ.get("API_FUZZ_EXAMPLES", "25"))

# Left out: whether the API accepts every request its schema allows, and refuses every one
# it does not. A schema cannot say which SKU exists or that a body names either lines or
# an amount (400s for valid-looking input), and DRF reads 0 as false or "0" (valid-looking
# answers to invalid input); API.md's own rules are tested in each app's tests.
CONFIG = schemathesis.Config.from_dict(
    {
        "checks": {
            "positive_data_acceptance": {"enabled": False},
            "negative_data_rejection": {"enabled": False},
        }
    }
)

schema = schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application(), config=CONFIG)


def error_body(ctx, response, case):
    """A non-2xx answer is `{code, message, fields?}` and nothing else (API.md)."""
    if response.status_code < 400:
        return None
    body = response.json()
    assert isinstance(body, dict), f"error body is not an object: {body!r}"
    assert set(body) in ({"code", "message"}, {"code", "message", "fields"}), body
    assert isinstance(body["code"], str) and body["code"], body
    assert isinstance(body["message"], str) and body["message"], body
    if "fields" in body:
        assert isinstance(body["fields"], dict) and body["fields"], body
    return None


@pytest.fixture
def kept_connection():
    """The database connection lives through the requests, as Django's test client keeps
    it: closed at a request's end, it would take the test's transaction with it."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def world(db, kept_connection):
    store = StoreFactory(code="FZ01")
    CouponTemplateFactory()  # coupons/claimable lists one
    return {"store": store, "pos_key": pos_key_for(store)}


def credentials(case, world) -> dict:
    """A till's key for the POS API, a fresh member's token for the mini-program (a case may
    have signed the last one out or closed its account)."""
    if case.path.startswith("/api/pos/"):
        return {"Authorization": f"Api-Key {world['pos_key']}"}
    member = MemberFactory(home_store=world["store"])
    return {"Authorization": f"Bearer {member_token_issue(member=member)}"}


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_api_answers_as_its_schema_says(case, world):
    # Each case on its own: fresh rate limits and Idempotency-Keys, else most answers would
    # be 429 or a replayed key's 409, whatever the case sent.
    cache.clear()
    IdempotencyKey.objects.all().delete()
    headers = credentials(case, world)
    # A savepoint for the request, as a transaction of its own would be when deployed: a
    # service that gives up its whole transaction on an error (atomic(savepoint=False))
    # would otherwise leave the test's transaction unusable for the next case.
    with transaction.atomic():
        case.call_and_validate(headers=headers, additional_checks=[error_body])


@pytest.fixture
def shop(world):
    """What a member and a till need to get a 2xx from every operation."""
    EarningRule.objects.create(name="每 1 元得 1 分", kind="rate", points_per_yuan=1)
    SkuFactory(sku="BAG", name="帆布包", category="配饰", price=Decimal("129.00"))
    member = MemberFactory(phone="13912345678", home_store=world["store"])
    points_earn(
        member=member, amount=5000, key="seed", cause_kind="admin", description="t", pending=False
    )
    return {
        **world,
        "member": member,
        "token": member_token_issue(member=member),
        "claimable": CouponTemplateFactory(),
        "for_points": CouponTemplateFactory(points_price=500),
        "at_the_till": CouponTemplateFactory(),
        "other_store": StoreFactory(code="FZ02"),
    }


def answer(method, path, status, *, auth=None, **request):
    """`request` sent as the schema describes it, its answer validated against the schema
    (and as the fuzz's checks validate it), with the status it should have."""
    case = schema[path][method].Case(**request)
    headers = {"Authorization": auth} if auth else {}
    response = case.call_and_validate(headers=headers, additional_checks=[error_body])
    assert response.status_code == status, (method, path, response.text)
    return response.json() if response.headers.get("content-type") == ["application/json"] else None


def test_the_answers_of_a_member_and_a_till_are_as_documented(shop, kept_connection):
    """The fuzz rarely gets past validation; a member's and a till's day does, so every
    success answer is checked against the schema too."""
    store, member = shop["store"], shop["member"]
    me = f"Bearer {shop['token']}"
    till = f"Api-Key {shop['pos_key']}"
    api, pos = "/api/v1", "/api/pos/v1"

    answer("GET", f"{api}/stores/{{code}}", 200, path_parameters={"code": store.code})
    answer("POST", f"{api}/auth/sms-code", 200, body={"phone": "13912345678"})
    signed_in = answer(
        "POST", f"{api}/auth/login", 200, body={"phone": "13800000000", "code": "123456"}
    )
    answer("POST", f"{api}/auth/wechat", 200, body={"code": "wx-login-code"})
    answer("GET", f"{api}/me", 200, auth=me)
    answer("PATCH", f"{api}/me", 200, auth=me, body={"name": "林晓", "gender": "female"})
    answer("GET", f"{api}/me/code.png", 200, auth=me)
    answer("GET", f"{api}/me/export", 200, auth=me)
    answer("GET", f"{api}/coupons/claimable", 200, auth=me)
    template = {"template_id": shop["claimable"].pk}
    coupon = answer(
        "POST", f"{api}/coupons/{{template_id}}/claim", 201, auth=me, path_parameters=template
    )
    answer(
        "POST",
        f"{api}/coupons/{{template_id}}/exchange",
        201,
        auth=me,
        path_parameters={"template_id": shop["for_points"].pk},
        headers={"Idempotency-Key": "exchange-1"},
    )
    answer("GET", f"{api}/me/coupons", 200, auth=me, query={"status": "available"})
    answer(
        "GET",
        f"{api}/me/coupons/{{code}}.png",
        200,
        auth=me,
        path_parameters={"code": coupon["code"]},
    )
    basket = {"lines": [{"sku": "BAG", "quantity": 1}]}
    answer("POST", f"{api}/orders/quote", 200, auth=me, body=basket)
    placed = answer(
        "POST",
        f"{api}/orders",
        201,
        auth=me,
        body={**basket, "coupon_codes": [coupon["code"]], "points": 1000},
    )
    order = {"order_no": placed["order"]["order_no"]}
    answer("GET", f"{api}/orders/{{order_no}}", 200, auth=me, path_parameters=order)
    answer("POST", f"{api}/orders/{{order_no}}/sandbox-pay", 200, auth=me, path_parameters=order)
    unpaid = answer("POST", f"{api}/orders", 201, auth=me, body=basket)
    answer(
        "POST",
        f"{api}/orders/{{order_no}}/cancel",
        200,
        auth=me,
        path_parameters={"order_no": unpaid["order"]["order_no"]},
    )
    answer("GET", f"{api}/me/orders", 200, auth=me)
    answer("GET", f"{api}/me/points", 200, auth=me, query={"page_size": 2})
    answer(
        "POST",
        f"{api}/stores/{{code}}/join",
        200,
        auth=me,
        path_parameters={"code": shop["other_store"].code},
        body={},
    )

    answer("GET", f"{pos}/store", 200, auth=till)
    member_code = answer("GET", f"{api}/me/code", 200, auth=me)["code"]
    answer("POST", f"{pos}/members/identify", 200, auth=till, body={"member_code": member_code})
    sale = {
        "member_id": member.pk,
        "lines": [{"sku": "TEE", "name": "T恤", "quantity": 2, "unit_price": "99.00"}],
    }
    answer("POST", f"{pos}/orders/quote", 200, auth=till, body=sale)
    answer(
        "POST",
        f"{pos}/orders",
        201,
        auth=till,
        body={**sale, "external_id": "T-1"},
        headers={"Idempotency-Key": "T-1"},
    )
    answer(
        "POST",
        f"{pos}/orders/{{external_id}}/refunds",
        201,
        auth=till,
        path_parameters={"external_id": "T-1"},
        body={"refund_id": "R-1", "amount": "10.00"},
    )
    at_the_till = coupon_claim(template=shop["at_the_till"], member=member)
    answer(
        "POST",
        f"{pos}/coupons/{{code}}/redeem",
        200,
        auth=till,
        path_parameters={"code": at_the_till.code},
        body={},
    )

    answer("POST", f"{api}/auth/logout", 204, auth=f"Bearer {signed_in['token']}")
    answer("DELETE", f"{api}/me", 204, auth=me)

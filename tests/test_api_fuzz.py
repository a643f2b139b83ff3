"""Both APIs fuzzed from the OpenAPI schema they serve (schemathesis): whatever a client sends,
no answer is a server error, every error has the body of API.md, and every answer (status,
content type, headers, body) is one the schema documents, so that a client generated from
the schema can read it. Bounded (MAX_EXAMPLES a case kind per operation) to stay a couple
of minutes in CI."""

import os

import pytest
import schemathesis
from django.core import signals
from django.core.cache import cache
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings

from tests.coupons.factories import CouponTemplateFactory
from tests.members.factories import MemberFactory
from tests.stores.factories import StoreFactory, pos_key_for

# Cases a kind of generation makes per operation; API_FUZZ_EXAMPLES=200 for a deeper run.
MAX_EXAMPLES = int(os.environ.get("API_FUZZ_EXAMPLES", "10"))

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


@schemathesis.check
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
    CouponTemplateFactory()
    return {"store": store, "pos_key": pos_key_for(store)}


def credentials(case, world) -> dict:
    """A till's key for the POS API, a fresh member's token for the mini-program (a case may
    have signed the last one out or closed its account)."""
    if case.path.startswith("/api/pos/"):
        return {"Authorization": f"Api-Key {world['pos_key']}"}
    from apps.members.credentials import member_token_issue

    member = MemberFactory(home_store=world["store"])
    return {"Authorization": f"Bearer {member_token_issue(member=member)}"}


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_api_answers_as_its_schema_says(case, world):
    cache.clear()  # each case with fresh rate limits: a 429 would hide what it tests
    case.call_and_validate(headers=credentials(case, world), additional_checks=[error_body])

"""The OpenAPI schema at /api/schema/: generated once per process, and documenting what the
endpoints answer: their errors, their pages, the Idempotency-Key header."""

from unittest import mock

import pytest
from drf_spectacular.generators import SchemaGenerator

from apps.core.api.schema_view import SchemaView

pytestmark = pytest.mark.django_db

ERROR = {"$ref": "#/components/schemas/Error"}


@pytest.fixture
def generations(monkeypatch):
    """The calls to drf-spectacular's generator, from a process that has not served it yet."""
    monkeypatch.setattr(SchemaView, "_schemas", {})
    with mock.patch.object(
        SchemaGenerator, "get_schema", autospec=True, side_effect=SchemaGenerator.get_schema
    ) as get_schema:
        yield get_schema


@pytest.fixture
def schema(api_client):
    return api_client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()


def operation(schema, method, path):
    return schema["paths"][path][method]


def test_a_language_nobody_speaks_generates_nothing_more(api_client, generations):
    api_client.get("/api/schema/")

    api_client.get("/api/schema/?lang=xx")
    api_client.get("/api/schema/?lang=../../etc")

    assert generations.call_count == 1
    assert list(SchemaView._schemas) == ["zh-hans"]


def test_the_schema_is_generated_once_for_every_anonymous_request(api_client, generations):
    first = api_client.get("/api/schema/")
    second = api_client.get("/api/schema/")
    as_json = api_client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")

    assert generations.call_count == 1
    assert (first.status_code, second.status_code, as_json.status_code) == (200, 200, 200)
    assert first.content == second.content
    assert first["Content-Type"] == "application/vnd.oai.openapi; charset=utf-8"
    assert first["Content-Disposition"] == 'inline; filename="Huiji API.yaml"'
    assert as_json["Content-Disposition"] == 'inline; filename="Huiji API.json"'
    assert as_json.json()["info"]["title"] == "Huiji API"


def test_each_language_is_generated_once(api_client, generations):
    api_client.get("/api/schema/?lang=en")
    api_client.get("/api/schema/?lang=en")
    api_client.get("/api/schema/", HTTP_ACCEPT_LANGUAGE="en")

    assert generations.call_count == 1
    assert list(SchemaView._schemas) == ["en"]


def test_the_schema_does_not_describe_itself(schema):
    assert "/api/schema/" not in schema["paths"]


def test_the_error_body_is_a_component(schema):
    error = schema["components"]["schemas"]["Error"]

    assert error["required"] == ["code", "message"]
    assert set(error["properties"]) == {"code", "message", "fields"}
    assert error["properties"]["fields"]["additionalProperties"] == {
        "type": "array",
        "items": {"type": "string"},
    }


def test_an_anonymous_view_without_input_documents_no_401_nor_400(schema):
    responses = operation(schema, "get", "/api/v1/stores/{code}")["responses"]

    assert sorted(responses) == ["200", "404", "429"]
    assert responses["404"]["content"]["application/json"]["schema"] == ERROR
    assert responses["429"]["headers"] == {"Retry-After": {"schema": {"type": "integer"}}}


def test_each_view_documents_the_errors_it_can_answer(schema):
    def statuses(method, path):
        return sorted(operation(schema, method, path)["responses"])

    # input → 400, signed in → 401 and 403, path or page → 404, Idempotency-Key → 409
    assert statuses("get", "/api/v1/me") == ["200", "401", "403", "429"]
    assert statuses("patch", "/api/v1/me") == ["200", "400", "401", "403", "429"]
    assert statuses("get", "/api/v1/me/points") == ["200", "401", "403", "404", "429"]
    assert statuses("get", "/api/v1/me/coupons") == ["200", "400", "401", "403", "404", "429"]
    assert statuses("post", "/api/v1/coupons/{template_id}/claim") == [
        *("201", "400", "401", "403", "404", "409", "429")
    ]
    assert statuses("post", "/api/v1/auth/sms-code") == ["200", "400", "429"]
    assert statuses("post", "/api/pos/v1/orders") == [
        *("201", "400", "401", "403", "404", "409", "429")
    ]
    # and those a view declares itself: a coupon already used
    assert statuses("post", "/api/pos/v1/coupons/{code}/redeem") == [
        *("200", "400", "401", "403", "404", "409", "429")
    ]
    for path, methods in schema["paths"].items():
        for method, op in methods.items():
            for status, response in op["responses"].items():
                if status >= "400":
                    assert response["content"]["application/json"]["schema"] == ERROR, (
                        method,
                        path,
                        status,
                    )


@pytest.mark.parametrize(
    ("path", "item"),
    [
        ("/api/v1/me/points", "MePointsOutput"),
        ("/api/v1/me/coupons", "CouponOutput"),
        ("/api/v1/me/orders", "OrderSummary"),
    ],
)
def test_lists_answered_in_pages_are_documented_as_pages(schema, path, item):
    op = operation(schema, "get", path)

    page_ref = op["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    assert page_ref == f"#/components/schemas/Paginated{item}List"
    page = schema["components"]["schemas"][f"Paginated{item}List"]
    assert page["required"] == ["count", "results"]
    assert set(page["properties"]) == {"count", "next", "previous", "results"}
    assert page["properties"]["results"] == {
        "type": "array",
        "items": {"$ref": f"#/components/schemas/{item}"},
    }
    assert {"page", "page_size"} <= {p["name"] for p in op["parameters"]}


def test_a_list_that_is_not_paged_stays_an_array(schema):
    op = operation(schema, "get", "/api/v1/coupons/claimable")

    assert op["responses"]["200"]["content"]["application/json"]["schema"]["type"] == "array"
    assert "parameters" not in op


def test_idempotent_posts_document_their_key(schema):
    def header(method, path):
        parameters = operation(schema, method, path).get("parameters", [])
        return [p for p in parameters if p["in"] == "header"]

    assert header("post", "/api/v1/auth/login") == []
    assert header("post", "/api/pos/v1/orders/quote") == []
    [key] = header("post", "/api/pos/v1/orders")
    assert key["name"] == "Idempotency-Key"
    assert key["schema"] == {"type": "string", "minLength": 1, "maxLength": 255}


def test_a_list_that_may_not_be_empty_says_so(schema):
    pos_order = schema["components"]["schemas"]["OrderInputRequest"]

    assert pos_order["properties"]["lines"]["minItems"] == 1
    assert "minItems" not in pos_order["properties"]["coupon_codes"]


def test_a_withdrawal_documents_what_the_member_confirms_receipt_with(schema):
    components = schema["components"]["schemas"]
    withdrawal = components["Withdrawal"]["properties"]

    assert withdrawal["confirmation"]["nullable"] is True
    assert withdrawal["confirmation"]["allOf"] == [
        {"$ref": "#/components/schemas/WithdrawalConfirmation"}
    ]
    assert "wx.requestMerchantTransfer" in withdrawal["confirmation"]["description"]
    assert "confirming" in withdrawal["status"]["description"]
    assert list(components["WithdrawalConfirmation"]["properties"]) == [
        "mch_id",
        "app_id",
        "package_info",
    ]
    listed = operation(schema, "get", "/api/v1/me/withdrawals")["responses"]["200"]
    assert listed["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/PaginatedWithdrawalList"
    }

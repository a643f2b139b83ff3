"""Every kind of API failure answers {"code", "message", "fields"?} in the caller's language."""

import base64

import pytest
from rest_framework.test import APIClient

from tests.core.factories import UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.core.urls")]


def basic(username, password="pw-for-tests"):
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


def test_validation_error_lists_fields_in_chinese_by_default(api_client):
    response = api_client.post("/api/test/validate", {"quantity": 0}, format="json")

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert body["message"] == "部分输入有误。"
    assert body["fields"] == {
        "phone": ["该字段是必填项。"],
        "quantity": ["请确保该值大于或者等于 1。"],
    }


def test_validation_error_in_english_on_request(api_client):
    response = api_client.post(
        "/api/test/validate", {"quantity": 0}, format="json", HTTP_ACCEPT_LANGUAGE="en"
    )

    body = response.json()
    assert body["message"] == "Some of the input is not valid."
    assert body["fields"]["phone"] == ["This field is required."]


def test_nested_validation_errors_name_the_line(api_client):
    data = {
        "phone": "x",
        "quantity": 1,
        "lines": [{"sku": "A", "quantity": 1}, {"sku": "B", "quantity": 0}],
    }

    response = api_client.post("/api/test/validate", data, format="json", HTTP_ACCEPT_LANGUAGE="en")

    assert response.json()["fields"] == {
        "lines": ["[1].quantity: Ensure this value is greater than or equal to 1."]
    }


def test_malformed_json_is_invalid(api_client):
    response = api_client.post("/api/test/validate", "{not json", content_type="application/json")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert set(response.json()) == {"code", "message"}


def test_domain_error_keeps_its_code_status_and_parameters(api_client):
    response = api_client.get("/api/test/domain-error", HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 409
    assert response.json() == {"code": "sold_out", "message": "The coupon 限量闪券 is sold out."}


def test_domain_error_message_follows_accept_language(api_client):
    zh = api_client.get("/api/v1/stores/S404")
    en = api_client.get("/api/v1/stores/S404", HTTP_ACCEPT_LANGUAGE="en")

    assert zh.status_code == en.status_code == 404
    assert zh.json() == {"code": "not_found", "message": "门店 S404 不存在。"}
    assert en.json() == {"code": "not_found", "message": "There is no store with code S404."}


def test_missing_credentials_is_not_authenticated_with_a_challenge(api_client):
    response = api_client.get("/api/test/basic-auth")

    assert response.status_code == 401
    assert response.json() == {"code": "not_authenticated", "message": "身份认证信息未提供。"}
    assert response["WWW-Authenticate"].startswith("Basic")


def test_wrong_credentials_is_not_authenticated(api_client):
    UserFactory(username="li")

    response = api_client.get("/api/test/basic-auth", HTTP_AUTHORIZATION=basic("li", "wrong"))

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_lacking_permission_is_permission_denied(api_client):
    UserFactory(username="clerk")

    response = api_client.get(
        "/api/test/hq-only", HTTP_AUTHORIZATION=basic("clerk"), HTTP_ACCEPT_LANGUAGE="en"
    )

    assert response.status_code == 403
    assert response.json() == {
        "code": "permission_denied",
        "message": "You do not have permission to perform this action.",
    }


def test_too_many_requests_is_throttled_with_retry_after(api_client):
    assert api_client.get("/api/test/throttled").status_code == 200

    response = api_client.get("/api/test/throttled", HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 429
    assert response.json()["code"] == "throttled"
    assert response.json()["message"].startswith("Request was throttled.")
    assert int(response["Retry-After"]) > 0


def test_wrong_method_is_method_not_allowed(api_client):
    response = api_client.delete("/api/test/validate")

    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"


def test_unknown_api_path_is_not_found_as_json(api_client):
    response = api_client.get("/api/v1/no-such-thing", HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 404
    assert response.json() == {"code": "not_found", "message": "Not found."}


def test_server_error_on_the_api_is_json():
    client = APIClient(raise_request_exception=False)

    response = client.get("/api/test/crash", HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 500
    assert response.json()["code"] == "server_error"


def test_list_pagination_shape_and_flat_query_count(api_client, django_assert_max_num_queries):
    from apps.core.audit import audit_record

    admin = UserFactory(username="hq", is_staff=True)
    for number in range(150):
        audit_record(actor=admin, action=f"test.{number}")

    # the user, the count, the page, and the sign-in lockout's look-up (basic auth signs in)
    with django_assert_max_num_queries(4):
        first = api_client.get("/api/test/entries", HTTP_AUTHORIZATION=basic("hq"))
    with django_assert_max_num_queries(4):
        big = api_client.get("/api/test/entries?page_size=500", HTTP_AUTHORIZATION=basic("hq"))

    body = first.json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert body["count"] == 150 and len(body["results"]) == 20 and body["previous"] is None
    assert "page=2" in body["next"]
    assert len(big.json()["results"]) == 100  # page_size is capped

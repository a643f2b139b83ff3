"""Idempotency-Key exactly as API.md: replay → first answer, other body → 409, races → one write."""

import base64
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from apps.core.idempotency import idempotency_keys_purge
from apps.core.models import AuditEntry, IdempotencyKey
from tests.conftest import run_together
from tests.core.factories import UserFactory

pytestmark = pytest.mark.urls("tests.core.urls")

URL = "/api/test/record"


def client_for(username: str) -> APIClient:
    client = APIClient()
    token = base64.b64encode(f"{username}:pw-for-tests".encode()).decode()
    client.credentials(HTTP_AUTHORIZATION=f"Basic {token}")
    return client


def writes() -> int:
    return AuditEntry.objects.filter(action="test.write").count()


@pytest.fixture
def pos(db):
    UserFactory(username="till")
    return client_for("till")


def test_replay_returns_the_first_answer_and_writes_nothing(pos):
    first = pos.post(URL, {"amount": "12.50"}, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    replay = pos.post(URL, {"amount": "12.50"}, format="json", HTTP_IDEMPOTENCY_KEY="k-1")

    assert first.status_code == replay.status_code == 201
    assert replay.content == first.content
    assert replay["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert writes() == 1


def test_key_order_and_spacing_of_the_body_do_not_matter(pos):
    pos.post(URL, {"a": 1, "b": 2}, format="json", HTTP_IDEMPOTENCY_KEY="k-2")

    replay = pos.post(
        URL, '{ "b": 2,  "a": 1 }', content_type="application/json", HTTP_IDEMPOTENCY_KEY="k-2"
    )

    assert replay.status_code == 201
    assert writes() == 1


def test_same_key_with_another_body_is_a_conflict(pos):
    pos.post(URL, {"amount": "12.50"}, format="json", HTTP_IDEMPOTENCY_KEY="k-3")

    conflict = pos.post(URL, {"amount": "99.00"}, format="json", HTTP_IDEMPOTENCY_KEY="k-3")

    assert conflict.status_code == 409
    assert conflict.json()["code"] == "idempotency_conflict"
    assert writes() == 1


def test_without_a_key_every_request_writes(pos):
    pos.post(URL, {"amount": "1"}, format="json")
    pos.post(URL, {"amount": "1"}, format="json")

    assert writes() == 2
    assert IdempotencyKey.objects.count() == 0


def test_keys_belong_to_one_client(db):
    UserFactory(username="a")
    UserFactory(username="b")

    client_for("a").post(URL, {"x": 1}, format="json", HTTP_IDEMPOTENCY_KEY="shared")
    other = client_for("b").post(URL, {"x": 1}, format="json", HTTP_IDEMPOTENCY_KEY="shared")

    assert other.status_code == 201
    assert "Idempotent-Replayed" not in other
    assert writes() == 2


def test_anonymous_requests_are_not_deduplicated_so_no_one_replays_anothers_answer(db):
    client = APIClient()

    client.post(URL, {"x": 1}, format="json", HTTP_IDEMPOTENCY_KEY="anon")
    client.post(URL, {"x": 1}, format="json", HTTP_IDEMPOTENCY_KEY="anon")

    assert writes() == 2
    assert IdempotencyKey.objects.count() == 0


def test_a_domain_error_is_remembered_and_its_writes_are_undone(pos):
    first = pos.post(URL, {"fail": "domain"}, format="json", HTTP_IDEMPOTENCY_KEY="k-4")
    replay = pos.post(URL, {"fail": "domain"}, format="json", HTTP_IDEMPOTENCY_KEY="k-4")

    assert first.status_code == replay.status_code == 409
    assert (
        replay.json()
        == first.json()
        == {"code": "sold_out", "message": "The coupon 测试 is sold out."}
    )
    assert replay["Idempotent-Replayed"] == "true"
    assert writes() == 0


def test_a_crash_forgets_the_key_so_the_retry_runs_afresh(db):
    UserFactory(username="till")
    client = client_for("till")
    client.raise_request_exception = False

    crashed = client.post(URL, {"fail": "crash"}, format="json", HTTP_IDEMPOTENCY_KEY="k-5")

    assert crashed.status_code == 500
    assert writes() == 0
    assert IdempotencyKey.objects.count() == 0


def test_an_overlong_key_is_invalid(pos):
    response = pos.post(URL, {}, format="json", HTTP_IDEMPOTENCY_KEY="k" * 256)

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert writes() == 0


@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_with_one_key_write_once_and_answer_alike():
    UserFactory(username="till")

    def submit():
        response = client_for("till").post(
            URL, {"slow": 0.3, "amount": "8.00"}, format="json", HTTP_IDEMPOTENCY_KEY="race"
        )
        return response.status_code, response.content

    results = run_together(submit, 4)

    assert {status for status, _body in results} == {201}
    assert len({body for _status, body in results}) == 1  # byte for byte
    assert writes() == 1
    assert IdempotencyKey.objects.count() == 1


def test_purge_forgets_only_old_keys(db, settings):
    settings.IDEMPOTENCY_KEY_TTL_DAYS = 7
    now = timezone.now()
    IdempotencyKey.objects.create(
        scope="s", key="old", fingerprint="f", created_at=now - timedelta(days=8)
    )
    IdempotencyKey.objects.create(
        scope="s", key="new", fingerprint="f", created_at=now - timedelta(days=6)
    )

    assert idempotency_keys_purge(now=now) == 1
    assert idempotency_keys_purge(now=now) == 0
    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["new"]

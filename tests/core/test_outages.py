"""What Huiji answers while PostgreSQL, Redis or the Celery broker cannot be reached
(apps/core/outages.py, apps/core/health.py, README.md "Operations")."""

import logging

import pytest
from django.db import OperationalError, connection
from django.test import Client, override_settings
from rest_framework.test import APIClient

from apps.core.models import Event
from apps.core.queue import enqueue
from apps.core.tasks import events_dispatch_task
from apps.coupons.models import Coupon
from apps.coupons.selectors import template_cached
from apps.orders.models import Order
from config.celery import app as celery_app
from config.settings import cache as cache_config
from tests.coupons.factories import CouponTemplateFactory
from tests.members.factories import MemberFactory, member_client
from tests.pos.conftest import shop, till  # noqa: F401  the shop fixture

CLOSED = "redis://127.0.0.1:1/0"  # nothing listens there: Redis is gone
redis_gone = override_settings(CACHES={"default": cache_config(CLOSED)})


def database_gone(execute, sql, params, many, context):
    raise OperationalError("server closed the connection unexpectedly")


@pytest.fixture
def broker_gone():
    saved = {key: celery_app.conf[key] for key in ("broker_url", "task_always_eager")}
    celery_app.conf.update(broker_url=CLOSED, task_always_eager=False)
    celery_app._after_fork()
    yield
    celery_app.conf.update(saved)
    celery_app._after_fork()


def test_healthz_answers_without_the_database(client):
    response = client.get("/healthz")  # no django_db mark: a query would fail the test
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


@pytest.mark.django_db
def test_readyz_ready():
    response = Client().get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "redis": "ok"}}


@pytest.mark.django_db
def test_readyz_unready_without_the_database():
    with connection.execute_wrapper(database_gone):
        response = Client().get("/readyz")
    assert response.status_code == 503
    assert response["Retry-After"]
    assert response.json()["checks"]["database"] == "down"


@pytest.mark.django_db
def test_readyz_without_redis_stays_ready_and_says_so():
    with redis_gone:
        response = Client().get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "degraded", "checks": {"database": "ok", "redis": "down"}}


@pytest.mark.django_db
@pytest.mark.parametrize(
    "language, words", [("zh-hans", "暂时无法"), ("en", "briefly unavailable")]
)
def test_api_request_while_the_database_is_gone_gets_503_json(language, words):
    member = MemberFactory()
    api = member_client(APIClient(raise_request_exception=False), member)
    with connection.execute_wrapper(database_gone):
        response = api.get("/api/v1/me", HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    body = response.json()
    assert body["code"] == "unavailable"
    assert words in body["message"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "language, words", [("zh-hans", "暂时无法"), ("en", "Briefly unavailable")]
)
def test_page_while_the_database_is_gone_gets_503_page(client, hq_user, language, words):
    client.raise_request_exception = False
    client.force_login(hq_user)
    with connection.execute_wrapper(database_gone):
        response = client.get("/dashboard/", HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response["Content-Type"].startswith("text/html")
    assert words in response.content.decode()


@pytest.mark.django_db
def test_a_real_error_is_still_a_500(client):
    client.raise_request_exception = False
    with connection.execute_wrapper(lambda *args: 1 / 0):
        response = client.get("/readyz")
    assert response.status_code == 500


def pos_order(pos, key="till-1"):
    return pos.post(
        "/api/pos/v1/orders",
        {
            "external_id": "T-1",
            "lines": [{"sku": "TEE", "quantity": 1, "unit_price": "99.00"}],
        },
        format="json",
        HTTP_IDEMPOTENCY_KEY=key,
    )


@pytest.mark.django_db
def test_a_till_sells_with_redis_and_the_broker_gone(
    shop,  # noqa: F811
    broker_gone,
    django_capture_on_commit_callbacks,
    caplog,
):
    pos = till(shop["key"])
    with (
        redis_gone,
        caplog.at_level(logging.ERROR, logger="apps.core.queue"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        first = pos_order(pos)
        again = pos_order(pos)
    assert first.status_code == 201, first.content
    assert again.json() == first.json()
    assert Order.objects.count() == 1
    # The event waits in the database for the periodic retry (events_retry_task).
    assert Event.objects.filter(status=Event.Status.PENDING).exists()
    assert "Could not send" in caplog.text


@pytest.mark.django_db
def test_enqueue_reports_a_broker_that_is_gone(broker_gone):
    assert enqueue(events_dispatch_task, [1]) is False


@pytest.mark.django_db
def test_a_coupon_claim_without_redis_is_try_again_and_gives_nothing():
    template = CouponTemplateFactory(claimable=True, total_stock=5)
    api = member_client(APIClient(raise_request_exception=False), MemberFactory())
    with redis_gone:
        response = api.post(f"/api/v1/coupons/{template.pk}/claim")
    assert response.status_code == 503
    assert response["Retry-After"]
    assert response.json()["code"] == "unavailable"
    assert not Coupon.objects.exists()


@pytest.mark.django_db
def test_templates_are_read_from_the_database_without_redis():
    template = CouponTemplateFactory(claimable=True, total_stock=5)
    with redis_gone:
        assert template_cached(template.pk).pk == template.pk

"""Project-wide checks: migrations complete, schema served, health answered."""

import http.client
import json
import os
import subprocess
import sys
from io import StringIO

import pytest
from django.conf import settings
from django.core.cache import CacheHandler
from django.core.management import call_command
from django.db import connection

from bench._http import serve
from config.settings import cache, database
from tests.coupons.factories import CouponTemplateFactory
from tests.members.factories import MemberFactory, member_client

pytestmark = pytest.mark.django_db


def test_every_model_change_has_its_migration():
    call_command("makemigrations", "--check", "--dry-run", stdout=StringIO())


def test_the_apis_answer_json_whatever_the_client_accepts(api_client):
    client = member_client(api_client, MemberFactory())

    response = client.get("/api/v1/me", HTTP_ACCEPT="text/html")

    assert (response.status_code, response["Content-Type"]) == (200, "application/json")
    assert response.json()["id"]
    yaml = api_client.get("/api/schema/")
    assert yaml["Content-Type"].startswith("application/vnd.oai.openapi")


def test_prepared_statements_keep_the_options_of_the_database_url():
    options = database("postgres://huiji@db:5432/huiji?sslmode=require")["OPTIONS"]

    assert options == {
        "sslmode": "require",
        "server_side_binding": True,
        "prepare_threshold": 5,
        "connect_timeout": 3,
    }
    assert database("postgres://h@db/h?connect_timeout=9")["OPTIONS"]["connect_timeout"] == 9


def test_the_redis_cache_keeps_what_huiji_keeps_in_it_and_its_client():
    """As deployed (REDIS_URL): every process shares the throttling counters, sold-out answers
    and cached templates, and an operation does not build a new Redis client."""
    shared = CacheHandler(
        {"default": {**cache(settings.TEST_REDIS_URL), "KEY_PREFIX": "test-cache"}}
    )["default"]
    template = CouponTemplateFactory(name="满100减20")
    try:
        shared.set("template", template, 10)
        assert shared.get("template").name == "满100减20"
        assert shared.add("gap", 1, 10) and not shared.add("gap", 1, 10)
        shared.delete_many(["template", "gap"])
        assert shared.get_many(["template", "gap"]) == {}
    finally:
        shared.delete_many(["template", "gap"])
    assert shared.client.get_client() is shared.client.get_client()
    assert cache("")["BACKEND"].endswith("LocMemCache")  # no REDIS_URL: this process's memory


def test_openapi_schema_describes_both_apis(api_client):
    response = api_client.get("/api/schema/", HTTP_ACCEPT="application/json")

    assert response.status_code == 200
    schema = response.json()
    assert {
        "/api/v1/auth/sms-code",
        "/api/v1/auth/login",
        "/api/v1/auth/wechat",
        "/api/v1/me",
        "/api/v1/me/code",
        "/api/v1/stores/{code}",
        "/api/v1/stores/{code}/join",
        "/api/pos/v1/store",
        "/api/pos/v1/members/identify",
    } <= set(schema["paths"])
    assert "PosApiKey" in schema["components"]["securitySchemes"]


def test_schema_has_no_warnings():
    call_command(
        "spectacular", "--validate", "--fail-on-warn", stdout=StringIO(), stderr=StringIO()
    )


def test_swagger_ui_is_served_from_here(client):
    page = client.get("/api/docs/").content.decode()

    assert "swagger-ui" in page
    assert "cdn" not in page.lower()


def test_health(client):
    assert client.get("/healthz").json()["status"] == "ok"


def test_system_checks_pass():
    call_command("check", stdout=StringIO())


def test_the_web_process_freezes_what_it_loaded_out_of_full_collections():
    check = subprocess.run(
        [
            sys.executable,
            "-c",
            "import gc, sys; import config.wsgi; "
            "print(gc.get_freeze_count() > 100_000, 'apps.pos.api' in sys.modules)",
        ],
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        check=True,
    )
    assert check.stdout.split() == ["True", "True"], check.stderr[-2000:]


def deployed_env(**settings: str) -> dict:
    """The environment of Huiji as deployed, on the test database, with its sandbox's
    stand-ins and no Redis."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": "postgres://{USER}@{HOST}:{PORT}/{NAME}".format(**connection.settings_dict),
        "SECRET_KEY": "test-only",
        "DEBUG": "false",
        "ALLOWED_HOSTS": "127.0.0.1",
        "HUIJI_SANDBOX": "1",
        "SECURE_SSL_REDIRECT": "false",  # plain HTTP, no proxy in front
        **settings,
    }


@pytest.mark.parametrize(("configured", "kept"), [(None, "None"), ("none", "None"), ("60", "60")])
def test_a_database_connection_is_kept_for_its_processs_life_unless_configured(configured, kept):
    """Replaced every minute, a pool's connections, all made together when it started, were
    replaced together: each till's next sale waited on a new backend (bench.mixed_load)."""
    env = deployed_env()
    env.pop("DB_CONN_MAX_AGE", None)
    if configured:
        env["DB_CONN_MAX_AGE"] = configured
    shown = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.conf import settings; "
            "print(settings.DATABASES['default']['CONN_MAX_AGE'])",
        ],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert shown.stdout.split() == [kept], shown.stderr[-2000:]


@pytest.mark.parametrize(("pool", "keeps_connections"), [("app", True), ("pos", False)])
def test_each_web_pool_serves_as_configured(pool, keeps_connections):
    """The mini-program's pool (granian) keeps a client's connection for its next request;
    the tills' pool (gunicorn) answers one request per connection and process. Both read a
    request's body."""
    with serve(deployed_env(), pool, workers=1) as port:
        client = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        answers, sockets = [], []
        for _ in range(2):
            client.request("GET", "/healthz")
            sockets.append(client.sock)
            response = client.getresponse()
            answers.append((response.status, json.loads(response.read())["status"]))
        client.close()
        client = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        client.request(
            "POST",
            "/api/v1/auth/sms-code",
            body=json.dumps({"phone": "12345"}),
            headers={"Content-Type": "application/json", "Accept-Language": "en"},
        )
        response = client.getresponse()
        refused = (response.status, list(json.loads(response.read())["fields"]))
        client.close()

    assert answers == [(200, "ok"), (200, "ok")]
    assert (sockets[0] is sockets[1]) is keeps_connections
    assert refused == (400, ["phone"])

"""A production site refuses to start with stand-ins (apps/core/checks.py), and Django's
deployment checklist passes with a production environment.

The test settings are an acceptance site (HUIJI_SANDBOX on): these tests turn it off."""

import importlib
import os
import secrets
import subprocess
import sys

import pytest
from django.conf import settings
from django.test import override_settings

from apps.core.checks import (
    backends_check,
    https_behind_proxy_check,
    sandbox_check,
    sms_receipt_token_check,
)
from config import gunicorn_pos
from config.granian_app import arguments
from tests.orders import wechatpay_fake as wx

LOCMEM = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
REDIS = {"default": {"BACKEND": "django_redis.cache.RedisCache", "LOCATION": "redis://r:6379/1"}}
REAL = {
    "PAYMENT_BACKEND": "apps.orders.wechatpay.WechatPayBackend",
    "SMS_BACKEND": "apps.core.sms.TencentSmsBackend",
    "WECHAT_PROVIDER": "apps.members.wechat.WechatProvider",
    # no real backend for these yet: off, so nothing pretends to send or pay
    "WECHAT_MESSAGE_BACKEND": "",
    "PAYOUT_BACKEND": "",
}
STAND_INS = {
    "PAYMENT_BACKEND": "apps.orders.payments.SandboxPaymentBackend",
    "SMS_BACKEND": "apps.core.sms.ConsoleSmsBackend",
    "WECHAT_PROVIDER": "apps.members.wechat.FakeWechatProvider",
    "WECHAT_MESSAGE_BACKEND": "apps.marketing.channels.ConsoleWechatMessageBackend",
    "PAYOUT_BACKEND": "apps.referrals.payouts.SandboxPayoutBackend",
}


@pytest.fixture(scope="module")
def production(tmp_path_factory) -> dict[str, str]:
    """A brand's production environment: real backends, all their settings, Redis."""
    paths = wx.keys().write(tmp_path_factory.mktemp("wechatpay"))
    return {
        "PATH": os.environ["PATH"],
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DEBUG": "false",
        "DATABASE_URL": "postgres://huiji:secret@127.0.0.1:5432/huiji",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "vip.example.cn",
        "CSRF_TRUSTED_ORIGINS": "https://vip.example.cn",
        "SITE_URL": "https://vip.example.cn",
        "REDIS_URL": "redis://127.0.0.1:6379/1",
        "TRUSTED_PROXY_COUNT": "1",
        "DELETED_PHONE_KEY": secrets.token_urlsafe(50),
        "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0",
        **REAL,
        "WECHATPAY_MCH_ID": wx.MCH_ID,
        "WECHATPAY_APP_ID": wx.APP_ID,
        "WECHATPAY_APIV3_KEY": wx.APIV3_KEY,
        "WECHATPAY_CERT_SERIAL_NO": wx.CERT_SERIAL_NO,
        "WECHATPAY_PRIVATE_KEY_PATH": paths["merchant"],
        "WECHATPAY_PLATFORM_KEY_PATH": paths["platform"],
        "WECHATPAY_PLATFORM_KEY_ID": wx.PLATFORM_KEY_ID,
        "TENCENTCLOUD_SECRET_ID": "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE",
        "TENCENTCLOUD_SECRET_KEY": "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE",
        "TENCENT_SMS_APP_ID": "1400006666",
        "SMS_SIGN_NAME": "会籍优选",
        "SMS_TEMPLATE_ID": "449739",
        "SMS_TILL_TEMPLATE_ID": "449740",
        "WECHAT_APP_ID": wx.APP_ID,
        "WECHAT_APP_SECRET": "a" * 32,
    }


def production_settings(production) -> dict:
    """The settings the production environment makes, for override_settings."""
    names = [name for name in production if name.startswith(("WECHAT", "TENCENT", "SMS_"))]
    return {
        "DEBUG": False,
        "HUIJI_SANDBOX": False,
        "CACHES": REDIS,
        "SMS_TEST_CODES": "",
        **{name: production[name] for name in names},
        "WECHATPAY_NOTIFY_URL": "https://vip.example.cn/api/v1/payments/notify",
        **REAL,
    }


def ids(messages) -> list[str]:
    return sorted(message.id for message in messages)


def test_production_with_real_backends_and_redis_passes(production):
    with override_settings(**production_settings(production)):
        assert backends_check() == [] and sandbox_check() == []


@pytest.mark.parametrize("name", STAND_INS)
def test_production_refuses_each_stand_in_and_says_how_to_mend_it(name, production):
    with override_settings(**{**production_settings(production), name: STAND_INS[name]}):
        [error] = backends_check()

    assert error.id == "huiji.E001" and error.is_serious()
    assert name in error.msg and "a stand-in" in error.msg
    assert f"Set {name} to a real backend" in error.hint and "HUIJI_SANDBOX=1" in error.hint


def test_production_refuses_a_cache_of_its_own_and_sms_test_codes(production):
    with override_settings(
        **{**production_settings(production), "CACHES": LOCMEM, "SMS_TEST_CODES": "1380=1"}
    ):
        errors = backends_check()

    assert ids(errors) == ["huiji.E002", "huiji.E003"]
    assert "REDIS_URL" in errors[0].hint and "Unset SMS_TEST_CODES" in errors[1].hint


def test_check_deploy_warns_while_deleted_phones_hang_on_the_secret_key(production):
    result = manage({**production, "DELETED_PHONE_KEY": ""}, "check", "--deploy")

    assert "huiji.W002" in result.stderr and "DELETED_PHONE_KEY" in result.stderr


def test_an_https_redirect_with_no_proxy_trusted_is_refused_as_a_loop():
    with override_settings(DEBUG=False, SECURE_SSL_REDIRECT=True, SECURE_PROXY_SSL_HEADER=None):
        [error] = https_behind_proxy_check()

    assert error.id == "huiji.E006" and "TRUSTED_PROXY_COUNT=1" in error.hint
    proxied = ("HTTP_X_FORWARDED_PROTO", "https")
    with override_settings(DEBUG=False, SECURE_SSL_REDIRECT=True, SECURE_PROXY_SSL_HEADER=proxied):
        assert https_behind_proxy_check() == []
    with override_settings(DEBUG=False, SECURE_SSL_REDIRECT=False, SECURE_PROXY_SSL_HEADER=None):
        assert https_behind_proxy_check() == []


def test_a_real_backend_without_its_settings_is_refused_even_in_debug(production):
    missing = {"WECHATPAY_APIV3_KEY": "", "TENCENT_SMS_APP_ID": "", "WECHAT_APP_SECRET": ""}
    with override_settings(**{**production_settings(production), "DEBUG": True, **missing}):
        errors = backends_check()

    assert ids(errors) == ["huiji.E005"] * 3
    assert "WECHATPAY_APIV3_KEY" in errors[0].msg and "TENCENT_SMS_APP_ID" in errors[1].msg
    assert "WECHAT_APP_SECRET" in errors[2].msg


def test_unusable_wechat_pay_keys_are_refused(production, tmp_path):
    (tmp_path / "junk.pem").write_text("not a key")
    unusable = {
        "WECHATPAY_PRIVATE_KEY_PATH": str(tmp_path / "missing.pem"),
        "WECHATPAY_PLATFORM_KEY_PATH": str(tmp_path / "junk.pem"),
        "WECHATPAY_NOTIFY_URL": "http://vip.example.cn/api/v1/payments/notify",
    }
    with override_settings(**{**production_settings(production), **unusable}):
        errors = backends_check()

    messages = " ".join(error.msg for error in errors)
    assert ids(errors) == ["huiji.E005"] * 3
    assert "WECHATPAY_PRIVATE_KEY_PATH" in messages and "WECHATPAY_PLATFORM_KEY_PATH" in messages
    assert "https://" in messages


def test_a_backend_that_cannot_be_imported_is_an_error(production):
    with override_settings(**{**production_settings(production), "SMS_BACKEND": "sms.Nope"}):
        [error] = backends_check()

    assert error.id == "huiji.E004" and "SMS_BACKEND" in error.msg


@pytest.mark.parametrize("switch", [{"HUIJI_SANDBOX": True}, {"DEBUG": True}])
def test_a_sandbox_or_debug_site_may_run_the_stand_ins(switch):
    stand_ins = {**STAND_INS, "CACHES": LOCMEM, "SMS_TEST_CODES": "13800000000=123456"}
    with override_settings(**{"DEBUG": False, "HUIJI_SANDBOX": False, **stand_ins, **switch}):
        assert backends_check() == []


def test_check_deploy_warns_of_a_sandbox_site():
    with override_settings(DEBUG=False, HUIJI_SANDBOX=True):
        [warning] = sandbox_check()

    assert warning.id == "huiji.W001" and not warning.is_serious()


@pytest.mark.parametrize(
    ("token", "problems"), [("", []), ("a" * 31, ["huiji.E007"]), ("a" * 32, [])]
)
def test_check_deploy_refuses_a_short_sms_receipt_token(token, problems):
    with override_settings(SMS_RECEIPT_TOKEN=token):
        assert ids(sms_receipt_token_check()) == problems


def manage(env, *args):
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_check_deploy_finds_nothing_in_a_production_environment(production):
    result = manage(production, "check", "--deploy", "--fail-level", "WARNING")

    assert (result.returncode, result.stderr) == (0, ""), result.stderr
    assert result.stdout == "System check identified no issues (0 silenced).\n"


def test_check_deploy_in_a_production_environment_with_stand_ins_fails(production):
    env = {key: value for key, value in production.items() if key not in REAL}
    env["SMS_TEST_CODES"] = "13800000000=123456"

    result = manage(env, "check", "--deploy")

    assert result.returncode == 1
    for problem in ("PAYMENT_BACKEND", "SMS_BACKEND", "WECHAT_PROVIDER", "SMS_TEST_CODES"):
        assert problem in result.stderr


STARTS = {
    "granian": [sys.executable, "-m", "config.granian_app", "--bind", "127.0.0.1:0"],
    "gunicorn": [
        os.path.join(os.path.dirname(sys.executable), "gunicorn"),
        *("--config", "config/gunicorn_pos.py", "--bind", "127.0.0.1:0", "--no-control-socket"),
    ],
    "celery worker": [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=solo"],
}


@pytest.mark.parametrize("server", STARTS)
def test_app_servers_and_workers_refuse_to_start_with_a_stand_in(server, production):
    env = {**production, "PAYMENT_BACKEND": STAND_INS["PAYMENT_BACKEND"], "HOME": "/tmp"}

    result = subprocess.run(
        STARTS[server],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 1, result.stderr[-2000:]
    assert "Huiji will not start" in result.stderr and "huiji.E001" in result.stderr
    assert "PAYMENT_BACKEND" in result.stderr


@pytest.mark.django_db
def test_plain_http_is_sent_to_https_but_the_health_probe_is_answered(client):
    with override_settings(SECURE_SSL_REDIRECT=True):
        page = client.get("/api/v1/me")
        health = client.get("/healthz")
        secure = client.get("/healthz", secure=True)

    assert (page.status_code, page["Location"]) == (301, "https://testserver/api/v1/me")
    assert health.status_code == 200
    assert (secure["X-Frame-Options"], secure["X-Content-Type-Options"]) == ("DENY", "nosniff")


def test_the_app_servers_listen_on_loopback_unless_told(monkeypatch):
    monkeypatch.delenv("HUIJI_APP_BIND", raising=False)
    monkeypatch.delenv("HUIJI_POS_BIND", raising=False)
    assert arguments([]).bind == "127.0.0.1:8000"
    assert importlib.reload(gunicorn_pos).bind == "127.0.0.1:8001"

    monkeypatch.setenv("HUIJI_APP_BIND", "10.0.0.5:8000")
    monkeypatch.setenv("HUIJI_POS_BIND", "10.0.0.5:8001")
    assert arguments([]).bind == "10.0.0.5:8000"
    assert arguments(["--bind", "0.0.0.0:9000"]).bind == "0.0.0.0:9000"
    assert importlib.reload(gunicorn_pos).bind == "10.0.0.5:8001"

"""One rule for the client's address: REMOTE_ADDR unless it is a trusted proxy, and then only
the right end of X-Forwarded-For, which the proxies wrote; and one rule for the requester a
limit counts: an IPv6 address by its /64."""

import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.core.exceptions import MiddlewareNotUsed
from django.test import RequestFactory, override_settings

from apps.core.audit import audit_record, request_ip
from apps.core.clients import client_ip, client_key, requester_of
from apps.core.middleware import ProxyHeadersMiddleware
from apps.core.models import AuditEntry
from apps.members.models import SmsCode

CLIENT = "203.0.113.7"
NGINX = "127.0.0.1"


def request(remote: str = NGINX, forwarded: str | None = None):
    headers = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded is not None else {}
    return RequestFactory().get("/", REMOTE_ADDR=remote, **headers)


def test_with_no_proxy_trusted_the_address_is_remote_addr_and_forwarded_for_is_ignored():
    assert settings.TRUSTED_PROXY_COUNT == 0 and settings.TRUSTED_PROXIES == []

    assert client_ip(request(remote=CLIENT)) == CLIENT
    assert client_ip(request(remote=CLIENT, forwarded="198.51.100.1")) == CLIENT
    assert client_ip(request(remote=CLIENT, forwarded=f"198.51.100.1, {CLIENT}")) == CLIENT


@override_settings(TRUSTED_PROXY_COUNT=1)
def test_behind_one_proxy_a_spoofed_leading_entry_does_not_change_the_client():
    # nginx appending ($proxy_add_x_forwarded_for) keeps what the client sent on the left
    assert client_ip(request(forwarded=CLIENT)) == CLIENT
    assert client_ip(request(forwarded=f"198.51.100.1, {CLIENT}")) == CLIENT
    assert client_ip(request(forwarded=f"1.1.1.1, 8.8.8.8, {CLIENT}")) == CLIENT
    assert client_ip(request(forwarded=f"not-an-address, {CLIENT}")) == CLIENT


@override_settings(TRUSTED_PROXY_COUNT=1)
def test_behind_one_proxy_a_request_that_skipped_it_is_known_by_its_own_address():
    assert client_ip(request(remote="10.1.2.3")) == "10.1.2.3"


@override_settings(TRUSTED_PROXY_COUNT=1)
@pytest.mark.parametrize("direct", ["203.0.113.9", "2001:db8::9", "8.8.8.8"])
def test_with_a_proxy_count_a_client_reaching_the_app_directly_cannot_choose_its_address(direct):
    # the app bound off loopback (HUIJI_APP_BIND=0.0.0.0): a public REMOTE_ADDR is no proxy
    assert client_ip(request(remote=direct, forwarded="198.51.100.1")) == direct
    assert client_ip(request(remote=direct, forwarded=f"1.2.3.4, {CLIENT}")) == direct


@override_settings(TRUSTED_PROXY_COUNT=1)
@pytest.mark.parametrize("proxy", ["127.0.0.1", "::1", "10.0.0.5", "172.16.3.4", "192.168.1.2"])
def test_with_a_proxy_count_a_loopback_or_private_remote_addr_is_the_proxy(proxy):
    assert client_ip(request(remote=proxy, forwarded=f"198.51.100.1, {CLIENT}")) == CLIENT


@override_settings(TRUSTED_PROXY_COUNT=1, TRUSTED_PROXIES=["198.51.100.77"])
def test_with_a_proxy_count_a_public_proxy_is_believed_when_it_is_named():
    assert client_ip(request(remote="198.51.100.77", forwarded=CLIENT)) == CLIENT
    assert client_ip(request(remote="198.51.100.78", forwarded=CLIENT)) == "198.51.100.78"


@override_settings(TRUSTED_PROXY_COUNT=2)
def test_behind_two_proxies_the_client_is_left_of_both():
    load_balancer = "10.0.0.5"
    forwarded = f"198.51.100.1, {CLIENT}, {load_balancer}"

    assert client_ip(request(forwarded=forwarded)) == CLIENT


@override_settings(TRUSTED_PROXIES=["127.0.0.1"])
def test_with_named_proxies_a_client_that_bypasses_them_cannot_choose_its_address():
    assert client_ip(request(forwarded=f"198.51.100.1, {CLIENT}")) == CLIENT
    # straight to the app server, claiming to be someone else: still itself
    assert client_ip(request(remote="198.51.100.9", forwarded="1.2.3.4")) == "198.51.100.9"


@override_settings(TRUSTED_PROXIES=["10.0.0.0/8", "127.0.0.1"])
def test_named_proxies_may_be_networks():
    assert client_ip(request(forwarded=f"198.51.100.1, {CLIENT}, 10.20.30.40")) == CLIENT
    # the load balancer's place is taken by an address outside its network: not trusted
    assert client_ip(request(forwarded=f"{CLIENT}, 192.0.2.1")) == NGINX


def test_the_audit_log_records_the_same_address(db):
    with override_settings(TRUSTED_PROXY_COUNT=1):
        ip = request_ip(request(forwarded=f"198.51.100.1, {CLIENT}"))
    entry = audit_record(actor="system", action="test.address", ip=ip)

    assert AuditEntry.objects.get(pk=entry.pk).ip == CLIENT


@override_settings(TRUSTED_PROXY_COUNT=1)
def test_a_sign_in_code_records_the_client_behind_the_proxy(api_client, db):
    response = api_client.post(
        "/api/v1/auth/sms-code",
        {"phone": "13912345678"},
        format="json",
        REMOTE_ADDR=NGINX,
        HTTP_X_FORWARDED_FOR=f"198.51.100.1, {CLIENT}",
    )

    assert response.status_code == 200
    assert list(SmsCode.objects.values_list("ip", flat=True)) == [CLIENT]


def _setting_in_production(name: str, **env: str) -> str:
    """The value of a setting as config.settings computes it from this environment."""
    environ = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("TRUSTED_PROXIES", "TRUSTED_PROXY_COUNT", "DJANGO_"))
    }
    environ.update(DEBUG="1", **env)
    code = f"import config.settings as s; print(repr(getattr(s, {name!r}, None)))"
    done = subprocess.run(
        [sys.executable, "-c", code],
        env=environ,
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def test_x_forwarded_proto_is_believed_only_behind_a_trusted_proxy():
    assert _setting_in_production("SECURE_PROXY_SSL_HEADER") == "None"
    assert _setting_in_production("SECURE_PROXY_SSL_HEADER", TRUSTED_PROXY_COUNT="1") == (
        "('HTTP_X_FORWARDED_PROTO', 'https')"
    )
    assert _setting_in_production("SECURE_PROXY_SSL_HEADER", TRUSTED_PROXIES="127.0.0.1") == (
        "('HTTP_X_FORWARDED_PROTO', 'https')"
    )


def test_a_client_saying_https_itself_is_not_treated_as_secure():
    forged = RequestFactory().get("/", REMOTE_ADDR=CLIENT, HTTP_X_FORWARDED_PROTO="https")

    assert forged.is_secure() is False


def test_a_requester_is_an_ipv4_address_whole_and_an_ipv6_address_by_its_64():
    assert requester_of("203.0.113.7") == "203.0.113.7"
    assert requester_of("203.0.113.8") == "203.0.113.8"
    same_64 = {requester_of("2001:db8:1:2::1"), requester_of("2001:db8:1:2:ffff:eeee:dddd:c")}
    assert same_64 == {"2001:db8:1:2::"}
    assert requester_of("2001:db8:1:3::1") == "2001:db8:1:3::"  # the next /64: another
    assert requester_of("::ffff:203.0.113.7") == "203.0.113.7"
    assert requester_of(None) == "" and requester_of("") == ""
    assert requester_of("not-an-address") == "not-an-address"


def test_the_audit_log_keeps_the_full_ipv6_address_the_requester_is_its_64(db):
    asked = request(remote="2001:db8:1:2:aaaa:bbbb:cccc:dddd")

    entry = audit_record(actor="system", action="test.address", ip=request_ip(asked))

    assert AuditEntry.objects.get(pk=entry.pk).ip == "2001:db8:1:2:aaaa:bbbb:cccc:dddd"
    assert client_key(asked) == "2001:db8:1:2::"


def forwarded_proto(remote: str) -> bool:
    """Whether a request from `remote` saying X-Forwarded-Proto: https is taken as secure."""
    forged = RequestFactory().get("/", REMOTE_ADDR=remote, HTTP_X_FORWARDED_PROTO="https")
    return ProxyHeadersMiddleware(lambda passed: passed.is_secure())(forged)


@override_settings(
    TRUSTED_PROXY_COUNT=1, SECURE_PROXY_SSL_HEADER=("HTTP_X_FORWARDED_PROTO", "https")
)
def test_x_forwarded_proto_from_a_client_reaching_the_app_directly_is_dropped():
    assert forwarded_proto("203.0.113.9") is False
    assert forwarded_proto("2001:db8::9") is False
    assert forwarded_proto("127.0.0.1") is True  # nginx: it overwrites the header


@override_settings(
    TRUSTED_PROXIES=["198.51.100.77"], SECURE_PROXY_SSL_HEADER=("HTTP_X_FORWARDED_PROTO", "https")
)
def test_x_forwarded_proto_is_believed_only_from_a_named_proxy():
    assert forwarded_proto("198.51.100.77") is True
    assert forwarded_proto("127.0.0.1") is False  # not named: a list trusts only its own


def test_with_no_proxy_trusted_the_proxy_headers_middleware_is_not_used():
    with pytest.raises(MiddlewareNotUsed):
        ProxyHeadersMiddleware(lambda passed: None)
    assert settings.MIDDLEWARE[0] == "apps.core.middleware.ProxyHeadersMiddleware"


@override_settings(
    TRUSTED_PROXY_COUNT=1, SECURE_PROXY_SSL_HEADER=("HTTP_X_FORWARDED_PROTO", "https")
)
def test_through_the_whole_stack_a_direct_client_is_not_secure_and_nginx_is(client):
    # the session cookie is marked Secure only on a request taken as HTTPS
    with override_settings(SESSION_COOKIE_SECURE=False, CSRF_COOKIE_SECURE=False):
        direct = client.get(
            "/dashboard/login/", REMOTE_ADDR="203.0.113.9", HTTP_X_FORWARDED_PROTO="https"
        )
        proxied = client.get(
            "/dashboard/login/", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_PROTO="https"
        )

    assert direct.wsgi_request.is_secure() is False
    assert proxied.wsgi_request.is_secure() is True

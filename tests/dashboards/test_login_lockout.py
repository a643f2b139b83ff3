"""Failed sign-ins on /dashboard/ and /admin/ lock a username out at one client address
(django-axes, by the client-address rule of apps.core.clients), audited."""

import pytest
from django.conf import settings
from django.test import Client, override_settings

from apps.core.models import AuditEntry
from tests.core.factories import UserFactory

pytestmark = pytest.mark.django_db

LIMIT = settings.AXES_FAILURE_LIMIT
PASSWORD = "pw-for-tests"
HERE, ELSEWHERE = "203.0.113.7", "198.51.100.20"


def sign_in(path: str, username: str, password: str, *, ip: str = HERE, **headers):
    return Client(REMOTE_ADDR=ip, **headers).post(
        path, {"username": username, "password": password}
    )


def signed_in(response) -> bool:
    return response.status_code == 302 and "_auth_user_id" in response.client.session


@pytest.fixture
def owner():
    return UserFactory(username="owner_s001")


@pytest.mark.parametrize("path", ["/dashboard/login/", "/admin/login/"])
def test_wrong_passwords_lock_the_username_at_that_address(owner, path):
    user = owner
    if path == "/admin/login/":
        user = UserFactory(username="hq_ops", is_staff=True)
    answers = [sign_in(path, user.username, "wrong").status_code for _ in range(LIMIT)]

    right = sign_in(path, user.username, PASSWORD)

    assert answers == [200] * (LIMIT - 1) + [429]
    assert right.status_code == 429 and not signed_in(right)
    assert "_auth_user_id" not in right.client.session
    assert int(right["Retry-After"]) == settings.AXES_COOLOFF_TIME.total_seconds()


def test_the_lockout_page_says_why_in_chinese_and_in_english(owner):
    for _ in range(LIMIT):
        sign_in("/dashboard/login/", owner.username, "wrong")

    chinese = sign_in("/dashboard/login/", owner.username, PASSWORD).content.decode()
    english = sign_in(
        "/dashboard/login/", owner.username, PASSWORD, HTTP_ACCEPT_LANGUAGE="en"
    ).content.decode()

    assert "登录已锁定" in chinese and "15 分钟" in chinese
    assert "Sign-in locked" in english and "locked for 15 minutes" in english


def test_the_same_username_from_another_address_is_not_locked(owner):
    for _ in range(LIMIT):
        sign_in("/dashboard/login/", owner.username, "wrong")

    assert signed_in(sign_in("/dashboard/login/", owner.username, PASSWORD, ip=ELSEWHERE))


def test_another_username_at_the_same_address_is_not_locked(owner):
    colleague = UserFactory(username="clerk_s001")
    for _ in range(LIMIT):
        sign_in("/dashboard/login/", owner.username, "wrong")

    assert signed_in(sign_in("/dashboard/login/", colleague.username, PASSWORD))


@override_settings(TRUSTED_PROXY_COUNT=1)
def test_behind_the_proxy_a_forged_forwarded_for_does_not_reset_the_count(owner):
    answers = [
        sign_in(
            "/dashboard/login/",
            owner.username,
            "wrong",
            ip="127.0.0.1",
            HTTP_X_FORWARDED_FOR=f"192.0.2.{n}, {HERE}",
        ).status_code
        for n in range(LIMIT)
    ]

    assert answers[-1] == 429


def test_a_lockout_is_audited_once_with_the_address(owner):
    for _ in range(LIMIT + 2):
        sign_in("/dashboard/login/", owner.username, "wrong")

    entry = AuditEntry.objects.get(action="login.locked_out")
    assert entry.ip == HERE
    assert entry.target_label == str(owner)
    assert entry.after == {
        "username": owner.username,
        "failures": LIMIT,
        "path": "/dashboard/login/",
    }


def test_fewer_wrong_passwords_audit_nothing_and_a_right_one_resets_the_count(owner):
    for _ in range(LIMIT - 1):
        sign_in("/dashboard/login/", owner.username, "wrong")

    assert signed_in(sign_in("/dashboard/login/", owner.username, PASSWORD))
    answers = [
        sign_in("/dashboard/login/", owner.username, "wrong").status_code for _ in range(LIMIT - 1)
    ]

    assert answers == [200] * (LIMIT - 1)
    assert not AuditEntry.objects.filter(action="login.locked_out").exists()


def test_addresses_of_one_ipv6_64_are_one_address_for_the_lockout_and_the_audit_keeps_the_full_one(
    owner,
):
    answers = [
        sign_in("/dashboard/login/", owner.username, "wrong", ip=f"2001:db8:1:2::{n}").status_code
        for n in range(1, LIMIT + 1)
    ]

    assert answers == [200] * (LIMIT - 1) + [429]
    assert (
        sign_in("/dashboard/login/", owner.username, PASSWORD, ip="2001:db8:1:2::ff").status_code
        == 429
    )
    assert signed_in(sign_in("/dashboard/login/", owner.username, PASSWORD, ip="2001:db8:1:3::1"))
    assert AuditEntry.objects.get(action="login.locked_out").ip == f"2001:db8:1:2::{LIMIT}"

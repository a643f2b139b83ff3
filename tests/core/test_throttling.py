"""The API's rate limits count each client's requests in fixed windows, atomically."""

import threading

import pytest
from django.conf import settings
from django.core.cache import CacheHandler
from django.test import override_settings
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from apps.core.api.throttling import AnonRateThrottle, ScopedRateThrottle, UserRateThrottle
from config.settings import cache


def ask(throttle_class, *, at: float, ip: str = "10.0.0.1") -> tuple[bool, float]:
    throttle = throttle_class()
    throttle.timer = lambda: at
    request = Request(APIRequestFactory().get("/", REMOTE_ADDR=ip))
    return throttle.allow_request(request, None), throttle.wait()


@pytest.mark.parametrize("mostly_first", [False, True])
def test_a_client_gets_the_rate_in_each_window_then_waits_for_the_next(mostly_first):
    class ThreeAMinute(AnonRateThrottle):
        rate = "3/min"

    ThreeAMinute.mostly_first = mostly_first
    assert [ask(ThreeAMinute, at=600 + n)[0] for n in range(3)] == [True, True, True]

    assert ask(ThreeAMinute, at=645) == (False, 15)  # until the minute ends
    assert ask(ThreeAMinute, at=645, ip="10.0.0.2")[0]  # another client has its own count
    assert ask(ThreeAMinute, at=660)[0]  # a new minute


@pytest.mark.parametrize("mostly_first", [False, True])
def test_requests_at_once_through_redis_get_exactly_the_rate(mostly_first):
    shared = CacheHandler(
        {"default": {**cache(settings.TEST_REDIS_URL), "KEY_PREFIX": "test-throttle"}}
    )["default"]

    class FiveAMinute(AnonRateThrottle):
        rate = "5/min"

    FiveAMinute.cache, FiveAMinute.mostly_first = shared, mostly_first
    counter = "throttle_anon_10.0.0.1:100"  # the client's counter for minute 100
    shared.delete(counter)  # left by a run that was stopped
    go, answers = threading.Barrier(20), []

    def tap():
        go.wait()
        answers.append(ask(FiveAMinute, at=6000)[0])

    threads = [threading.Thread(target=tap) for _ in range(20)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        shared.delete(counter)

    assert answers.count(True) == 5 and len(answers) == 20


def ask_forwarded(throttle_class, *, forwarded: str, remote: str = "127.0.0.1") -> bool:
    throttle = throttle_class()
    throttle.timer = lambda: 600
    request = Request(
        APIRequestFactory().get("/", REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=forwarded)
    )
    return throttle.allow_request(request, None)


def test_behind_one_proxy_a_spoofed_forwarded_for_gets_no_fresh_bucket():
    class TwoAMinute(AnonRateThrottle):
        rate = "2/min"

    with override_settings(TRUSTED_PROXY_COUNT=1):
        answers = [
            ask_forwarded(TwoAMinute, forwarded=f"198.51.100.{n}, 203.0.113.7") for n in range(3)
        ]
        other_client = ask_forwarded(TwoAMinute, forwarded="203.0.113.8")

    assert answers == [True, True, False]
    assert other_client is True


def test_with_no_proxy_trusted_forwarded_for_is_ignored():
    class TwoAMinute(AnonRateThrottle):
        rate = "2/min"

    answers = [
        ask_forwarded(TwoAMinute, forwarded=f"198.51.100.{n}", remote="203.0.113.7")
        for n in range(3)
    ]

    assert answers == [True, True, False]


@pytest.mark.parametrize("throttle_class", [AnonRateThrottle, UserRateThrottle, ScopedRateThrottle])
def test_every_throttle_knows_a_client_by_the_one_rule(throttle_class):
    request = Request(
        APIRequestFactory().get("/", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="1.2.3.4")
    )
    with override_settings(TRUSTED_PROXY_COUNT=0, REST_FRAMEWORK={"NUM_PROXIES": 1}):
        assert throttle_class().get_ident(request) == "127.0.0.1"
    with override_settings(TRUSTED_PROXY_COUNT=1):
        assert throttle_class().get_ident(request) == "1.2.3.4"


def test_an_ipv6_client_is_counted_by_its_64_and_an_ipv4_client_by_its_address():
    class TwoAMinute(AnonRateThrottle):
        rate = "2/min"

    one_64 = [ask(TwoAMinute, at=600, ip=f"2001:db8:1:2::{n}")[0] for n in range(1, 4)]
    next_64 = ask(TwoAMinute, at=600, ip="2001:db8:1:3::1")[0]
    neighbours = [ask(TwoAMinute, at=600, ip=f"203.0.113.{n}")[0] for n in range(1, 4)]

    assert one_64 == [True, True, False]  # a fresh address of one's own /64 is no fresh bucket
    assert next_64 is True
    assert neighbours == [True, True, True]


@pytest.mark.parametrize("throttle_class", [AnonRateThrottle, UserRateThrottle, ScopedRateThrottle])
def test_every_throttle_knows_an_ipv6_client_by_its_64(throttle_class):
    request = Request(APIRequestFactory().get("/", REMOTE_ADDR="2001:db8:1:2:3:4:5:6"))

    assert throttle_class().get_ident(request) == "2001:db8:1:2::"

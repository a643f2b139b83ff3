"""The API's rate limits count each client's requests in fixed windows, atomically."""

import threading

import pytest
from django.conf import settings
from django.core.cache import CacheHandler
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from apps.core.api.throttling import AnonRateThrottle
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

"""The API's rate limits: DRF's throttles (same scopes, rates and 429 answer), counting each
client's requests in fixed windows of the rate's length.

DRF's own keep the time of every request in one cached list (as many as the rate allows:
1,200 for a till), read and written back on each request: two round trips to Redis on
every API call, and two requests at once can both read the same list and both pass. Here
a request makes its window's counter or increments it, atomically, so a client gets at
most the rate in each window, whatever runs at once; at a window's edge it may use up two
windows' worth in a moment, which a limit against abuse can allow.

A client is known by its address under the one rule of apps.core.clients, never by DRF's
own reading of X-Forwarded-For (NUM_PROXIES), which a client can write itself; an IPv6
client by its /64 (`client_key`), which one subscriber holds whole.
"""

from rest_framework import throttling

from apps.core.clients import client_key
from apps.core.counters import CACHE_DOWN, count_up


class CountingThrottle(throttling.SimpleRateThrottle):
    # Whether most requests are their client's first in a window, as a member's tap in a
    # coupon drop is, or not, as a till's sales are: the likelier case is one round trip to
    # the cache, the other two.
    mostly_first = False

    def allow_request(self, request, view):
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        window = int(self.timer() // self.duration)
        self.window_ends = (window + 1) * self.duration
        try:
            return self._count(f"{self.key}:{window}") <= self.num_requests
        except CACHE_DOWN:
            # Open while Redis is gone: a limit against abuse may lapse for a while, a till's
            # sales must not stop (README.md, "Operations").
            return True

    def _count(self, key: str) -> int:
        # The window's counter outlives it by a window, so a request that read the clock as
        # the window ended still finds it.
        return count_up(key, 2 * self.duration, first_likely=self.mostly_first, cache=self.cache)

    def wait(self):
        return max(self.window_ends - self.timer(), 1)

    def get_ident(self, request) -> str:
        return client_key(request)


# DRF's class first: the scoped one finds its rate from the view before counting.
class AnonRateThrottle(throttling.AnonRateThrottle, CountingThrottle):
    pass


class UserRateThrottle(throttling.UserRateThrottle, CountingThrottle):
    pass


class ScopedRateThrottle(throttling.ScopedRateThrottle, CountingThrottle):
    """For single actions a client takes now and then: a coupon claim, a sign-in code."""

    mostly_first = True

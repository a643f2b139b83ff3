"""The client's address: one rule for every throttle, the sign-in codes, the sign-in lockout
and the audit log.

With no proxy trusted (the default) it is the address the request came from, REMOTE_ADDR,
and an X-Forwarded-For header is ignored: anyone can write one. Behind proxies, each adds
the address it heard from at the right end of X-Forwarded-For (nginx as the first hop
writes it alone), so only the right end can be believed. The chain is that header with
REMOTE_ADDR after it, and the client is the address just left of the trusted proxies:
TRUSTED_PROXY_COUNT of them, or those TRUSTED_PROXIES names (addresses or networks,
farthest first, the one Huiji hears from last). Whatever a client puts at the left end
changes nothing, so it gets no fresh throttle bucket or lockout count by sending one.

python-ipware parses the chain (ports, IPv6 brackets, IPv4-mapped addresses, RFC 7239
tokens) and picks the position; its Django wrapper, django-ipware, is not used because it
asks for the exact number of addresses in the header and never looks at REMOTE_ADDR, which
is where the nearest proxy stands.
"""

from functools import lru_cache

from django.conf import settings
from python_ipware import IpWare

_CHAIN = "HTTP_X_FORWARDED_FOR"


def proxies_trusted() -> bool:
    return bool(settings.TRUSTED_PROXY_COUNT or settings.TRUSTED_PROXIES)


@lru_cache(maxsize=4)
def _ipware(count: int, proxies: tuple[str, ...]) -> IpWare:
    return IpWare(precedence=(_CHAIN,), proxy_count=count or None, proxy_list=list(proxies) or None)


def client_ip(request) -> str | None:
    """The address of the client that made `request` (a Django or DRF request)."""
    remote = request.META.get("REMOTE_ADDR") or None
    if not proxies_trusted():
        return remote
    chain = f"{request.META.get(_CHAIN, '')},{remote or ''}"
    ipware = _ipware(settings.TRUSTED_PROXY_COUNT, tuple(settings.TRUSTED_PROXIES))
    found, _through_proxies = ipware.get_client_ip({_CHAIN: chain})
    # A request that did not come through the proxies (a health check on the host) is
    # counted under the address it came from.
    return str(found) if found is not None else remote

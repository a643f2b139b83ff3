"""The client's address: one rule for every throttle, the sign-in codes, the sign-in lockout
and the audit log; and the requester it counts as, for every limit kept per requester.

With no proxy trusted (the default) it is the address the request came from, REMOTE_ADDR,
and an X-Forwarded-For header is ignored: anyone can write one. Behind proxies, each adds
the address it heard from at the right end of X-Forwarded-For (nginx as the first hop
writes it alone), so only the right end can be believed. The chain is that header with
REMOTE_ADDR after it, and the client is the address just left of the trusted proxies:
TRUSTED_PROXY_COUNT of them, or those TRUSTED_PROXIES names (addresses or networks,
farthest first, the one Huiji hears from last). Whatever a client puts at the left end
changes nothing, so it gets no fresh throttle bucket or lockout count by sending one.

The headers are read only from a proxy: REMOTE_ADDR must be one of TRUSTED_PROXIES or, with
a count, a loopback or private address (where nginx or a load balancer stands). A client
that reaches the app server straight from a public address is known by that address, and
`ProxyHeadersMiddleware` drops its X-Forwarded-Proto, so it cannot choose its own address
(a fresh bucket every request) nor pass as HTTPS.

python-ipware parses the chain (ports, IPv6 brackets, IPv4-mapped addresses, RFC 7239
tokens) and picks the position; its Django wrapper, django-ipware, is not used because it
asks for the exact number of addresses in the header and never looks at REMOTE_ADDR, which
is where the nearest proxy stands.
"""

import ipaddress
from dataclasses import dataclass
from functools import lru_cache

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.dispatch import receiver
from python_ipware import IpWare

_CHAIN = "HTTP_X_FORWARDED_FOR"
# An IPv6 customer gets a /64 (or more) to itself: its addresses are one requester.
IPV6_REQUESTER_PREFIX = 64
# Where a proxy counted by TRUSTED_PROXY_COUNT may stand: loopback, the private ranges, and
# the shared range cloud load balancers forward from (Aliyun SLB: 100.64.0.0/10), which no
# client on the Internet can appear from. Named, not `is_private`, which also takes the
# documentation ranges.
PROXY_NETWORKS = tuple(
    ipaddress.ip_network(name)
    for name in (
        "127.0.0.0/8",
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "100.64.0.0/10",
        "::1/128",
        "fc00::/7",
    )
)


@dataclass(frozen=True)
class _Proxies:
    count: int
    networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]
    ipware: IpWare

    def include(self, remote: str) -> bool:
        try:
            address = ipaddress.ip_address(remote)
        except ValueError:
            return False
        if address.version == 6 and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        nearby = PROXY_NETWORKS if self.count else ()
        return any(address in network for network in (*self.networks, *nearby))


@lru_cache(maxsize=1)
def _proxies() -> _Proxies | None:
    count, names = settings.TRUSTED_PROXY_COUNT, list(settings.TRUSTED_PROXIES)
    if not (count or names):
        return None
    try:
        networks = tuple(ipaddress.ip_network(name, strict=False) for name in names)
    except ValueError as error:
        raise ImproperlyConfigured(f"TRUSTED_PROXIES: {error}") from error
    ipware = IpWare(precedence=(_CHAIN,), proxy_count=count or None, proxy_list=names or None)
    return _Proxies(count=count, networks=networks, ipware=ipware)


@receiver(setting_changed)
def _proxies_changed(setting, **kwargs) -> None:
    if setting in ("TRUSTED_PROXY_COUNT", "TRUSTED_PROXIES"):
        _proxies.cache_clear()
        _from_proxy.cache_clear()


def proxies_trusted() -> bool:
    return _proxies() is not None


@lru_cache(maxsize=256)
def _from_proxy(remote: str | None) -> bool:
    proxies = _proxies()
    return proxies is not None and bool(remote) and proxies.include(remote)


def from_proxy(request) -> bool:
    """Whether `request` came through a trusted proxy, which alone may say whom it came
    from (X-Forwarded-For) and how (X-Forwarded-Proto)."""
    return _from_proxy(request.META.get("REMOTE_ADDR"))


def client_ip(request) -> str | None:
    """The address of the client that made `request` (a Django or DRF request): what the
    audit log records."""
    remote = request.META.get("REMOTE_ADDR") or None
    if not _from_proxy(remote):
        return remote
    chain = f"{request.META.get(_CHAIN, '')},{remote}"
    found, _through_proxies = _proxies().ipware.get_client_ip({_CHAIN: chain})
    # A request that did not come through all the proxies (a health check from nginx's
    # host) is counted under the address it came from.
    return str(found) if found is not None else remote


def requester_of(ip: str | None) -> str:
    """Who a limit counts, for the client address `ip`: an IPv4 address as it is, an IPv6
    address as the first address of its /64, which one subscriber holds whole (one address
    each would give one attacker millions of requesters). "" for none."""
    if not ip or ":" not in ip:
        return ip or ""
    return _ipv6_requester(ip)


@lru_cache(maxsize=1024)
def _ipv6_requester(ip: str) -> str:
    try:
        address = ipaddress.IPv6Address(ip)
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        network = ipaddress.IPv6Network((address, IPV6_REQUESTER_PREFIX), strict=False)
    except ValueError:
        return ip
    return str(network.network_address)


def client_key(request) -> str:
    """The requester behind `request`, for throttles and lockouts (`requester_of`)."""
    return requester_of(client_ip(request))

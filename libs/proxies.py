"""Who is calling, behind the gateway: `X-Forwarded-For` believed only as far as it was written by our proxies.

Each proxy appends the address it was called from, so the list reads from the client (left) to the last proxy
(right), and everything left of the first proxy we run was written by the caller and proves nothing. The
client is therefore the right-most hop that is not one of our proxies, and the header is ignored altogether
when the peer itself is not one of them (`EW_TRUSTED_PROXIES`: addresses and CIDRs, loopback by default;
never "*", which would let anyone name any address, as uvicorn's `FORWARDED_ALLOW_IPS="*"` did).
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass

from starlette.requests import Request

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

DEFAULT_TRUSTED_PROXIES = "127.0.0.1,::1"
# Hops looked at from the right: more proxies than this in front of a service is a header stuffed by a caller.
_MAX_HOPS = 16


@dataclass(frozen=True)
class TrustedProxies:
    """The addresses and networks of the proxies in front of a service (the gateway, an ingress controller)."""

    networks: tuple[IPNetwork, ...]

    def __contains__(self, host: str) -> bool:
        address = _address(host)
        return address is not None and any(address in network for network in self.networks)


@functools.lru_cache(maxsize=16)
def parse_trusted_proxies(value: str) -> TrustedProxies:
    """ "10.0.0.5, 10.244.0.0/16, ::1" -> TrustedProxies; "*" and anything that is not an address or a network
    is refused (ValueError): trusting everyone is the mistake this setting exists to prevent."""
    networks: list[IPNetwork] = []
    for item in (part.strip() for part in value.split(",")):
        if not item:
            continue
        if item == "*":
            raise ValueError('"*" would trust X-Forwarded-For from anyone: list the gateway\'s addresses')
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError as error:
            raise ValueError(f"{item!r} is not an IP address or network") from error
    return TrustedProxies(tuple(networks))


def client_address(peer: str | None, forwarded_for: Sequence[str], trusted: TrustedProxies) -> str:
    """The caller's address: the peer, or (when the peer is a trusted proxy) the right-most untrusted hop of
    `X-Forwarded-For` (every occurrence of the header, in order). "unknown" without a peer."""
    if not peer:
        return "unknown"
    if peer not in trusted:
        return peer
    hops = [hop.strip() for value in forwarded_for for hop in value.split(",") if hop.strip()][-_MAX_HOPS:]
    for hop in reversed(hops):
        if hop not in trusted:
            return _host(hop)
    # every hop was one of ours (or there were none): the left-most one seen is where the request came from
    return _host(hops[0]) if hops else peer


def request_client(request: Request, trusted: TrustedProxies) -> str:
    """`client_address` of a Starlette request."""
    peer = request.client.host if request.client else None
    return client_address(peer, request.headers.getlist("x-forwarded-for"), trusted)


def _host(hop: str) -> str:
    """A hop without its port ("1.2.3.4:5678", "[2001:db8::1]:443"); text that is no address stays as it is."""
    address = _address(hop)
    return str(address) if address is not None else hop[:64]


def _address(hop: str) -> IPAddress | None:
    text = hop.strip()
    if text.startswith("["):  # [IPv6]:port
        text = text[1 : text.find("]")] if "]" in text else text
    elif text.count(":") == 1:  # IPv4:port
        text = text.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    # a dual-stack listener reports IPv4 peers as ::ffff:a.b.c.d
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address

"""The client's address, as far as Wharf can trust it.

``X-Forwarded-For`` is only believed when the connection comes from a proxy listed in
``WHARF_TRUSTED_PROXIES``: anyone can send the header, so believing it from elsewhere would let
a client pick the address its failed logins are counted against.
"""

import ipaddress
from functools import lru_cache

from django.conf import settings

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


@lru_cache(maxsize=8)
def _networks(configured: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(network, strict=False) for network in configured)


def _parse(value: str) -> Address | None:
    """An address as proxies write it: bare, ``[v6]``, or with a port (``1.2.3.4:5678``)."""
    value = value.strip()
    if value.startswith("["):
        value = value[1:].partition("]")[0]
    elif value.count(":") == 1:
        value = value.partition(":")[0]
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    # An IPv4 client seen through an IPv6 socket is the IPv4 client.
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


def is_trusted_proxy(address: Address | str | None) -> bool:
    if isinstance(address, str):
        address = _parse(address)
    if address is None:
        return False
    return any(address in network for network in _networks(tuple(settings.WHARF_TRUSTED_PROXIES)))


def from_trusted_proxy(request) -> bool:
    """Whether the connection itself comes from a trusted proxy (so its headers may be believed)."""
    return is_trusted_proxy(request.META.get("REMOTE_ADDR", ""))


def client_address(request) -> str | None:
    """The address of the client: the connection's peer, or, behind trusted proxies, the
    right-most ``X-Forwarded-For`` entry that is not one of them. None when there is none (a
    Unix socket without a proxy header)."""
    peer = _parse(request.META.get("REMOTE_ADDR", ""))
    if peer is None or not is_trusted_proxy(peer):
        return str(peer) if peer is not None else None
    client = peer
    # Each proxy appends the address it was connected from, so the entries to the right are the
    # trusted ones; walking left, the first that is not a trusted proxy is the client. An entry
    # that is not an address was not written by a proxy we trust: stop at the last one we do.
    for entry in reversed(request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")):
        hop = _parse(entry)
        if hop is None:
            break
        client = hop
        if not is_trusted_proxy(hop):
            break
    return str(client)

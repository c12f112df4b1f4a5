"""Which registry addresses a Workspace Admin may point Wharf at.

Wharf calls the URL from inside the platform's network, so a workspace registry must not be a
way to reach the host itself, link-local services or cloud metadata endpoints (SSRF). The
operator can allow networks explicitly (WHARF_ALLOWED_REGISTRY_NETWORKS).
"""

import ipaddress
import socket
from urllib.parse import urlsplit

# Cloud metadata services that are not link-local.
METADATA_ADDRESSES = {
    ipaddress.ip_address("100.100.100.200"),  # Alibaba Cloud
    ipaddress.ip_address("fd00:ec2::254"),  # AWS over IPv6
}


def _addresses(host: str) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    try:
        return [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        pass
    infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    return [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]


def refused_reason(url: str, allowed_networks: list[str]) -> str | None:
    """A sentence saying why ``url`` is refused, or None when it may be used."""
    host = urlsplit(url).hostname
    if not host:
        return "The address has no host name."
    try:
        addresses = _addresses(host)
    except (socket.gaierror, UnicodeError):
        return f"The host name {host} does not resolve."
    allowed = [ipaddress.ip_network(network, strict=False) for network in allowed_networks]
    for address in addresses:
        if any(address in network for network in allowed):
            continue
        if address.is_loopback or address.is_unspecified:
            kind = "a loopback address"
        elif address.is_link_local:
            kind = "a link-local address"
        elif address in METADATA_ADDRESSES:
            kind = "a cloud metadata address"
        elif address.is_multicast or address.is_reserved:
            kind = "a reserved address"
        else:
            continue
        return (f"{host} resolves to {address}, {kind}, which workspace registries may not use. "
                "A platform operator can allow it with WHARF_ALLOWED_REGISTRY_NETWORKS.")
    return None

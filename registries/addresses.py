"""Which addresses a workspace registry may reach.

Wharf calls a registry from inside the platform's network, so a Workspace Admin's registry must
not be a way to reach the host itself, the platform's private networks, link-local services or
cloud metadata endpoints (SSRF). Only globally routable addresses pass, judged by what they
really reach: an IPv4 address written in an IPv6 form (IPv4-mapped, 6to4, NAT64) is judged as
that IPv4 address, so ``::ffff:127.0.0.1`` and ``2002:7f00::1`` are loopback while a NAT64
address of a public registry (IPv6-only clusters) passes. The operator can allow networks
explicitly (WHARF_ALLOWED_REGISTRY_NETWORKS).

The rule is applied twice: on the URL a Workspace Admin types (a field error), and by the
clients' transport on every connection, redirects and token servers included (the check that
matters: it judges the address actually connected to).
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

import httpcore
from django.utils.translation import gettext as _

from registries.clients import AddressPolicy, Deadline
from registries.clients.base import IPAddress
from registries.clients.transport import resolve

# Cloud metadata services that are not link-local.
METADATA_ADDRESSES = {
    ipaddress.ip_address("100.100.100.200"),  # Alibaba Cloud
    ipaddress.ip_address("fd00:ec2::254"),  # AWS over IPv6
}
SHARED_ADDRESS_SPACE = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT (RFC 6598)
PRIVATE_NETWORKS = [
    ipaddress.ip_network(network) for network in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7")
]
NAT64_PREFIX = ipaddress.ip_network("64:ff9b::/96")
# A form lookup that takes longer than this is left to the connection check, which has the
# operation's deadline.
LOOKUP_TIMEOUT = 5.0

Networks = list[ipaddress.IPv4Network | ipaddress.IPv6Network]


def embedded_ipv4(address: IPAddress) -> tuple[str, ipaddress.IPv4Address] | None:
    """The IPv4 address an IPv6 address stands for, with the name of the form, or None."""
    if not isinstance(address, ipaddress.IPv6Address):
        return None
    if address.ipv4_mapped is not None:
        return "IPv4-mapped", address.ipv4_mapped
    if address.sixtofour is not None:
        return "6to4", address.sixtofour
    if address in NAT64_PREFIX:
        return "NAT64", ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def internal_kind(address: IPAddress) -> str | None:
    """What kind of internal address this is ("a loopback address", ...), or None if public."""
    embedded = embedded_ipv4(address)
    if embedded is not None:
        form, ipv4 = embedded
        kind = internal_kind(ipv4)
        if kind is None:
            return None
        return _("%(kind)s in %(form)s form (%(ipv4)s)") % {"kind": kind, "form": form, "ipv4": ipv4}
    if address.is_loopback or address.is_unspecified:
        # 0.0.0.0 and :: reach the host itself.
        return _("a loopback address")
    if address in METADATA_ADDRESSES:
        return _("a cloud metadata address")
    if address.is_link_local:
        return _("a link-local address")
    if address.is_multicast:
        return _("a multicast address")
    if address in SHARED_ADDRESS_SPACE:
        return _("a shared (carrier-grade NAT) address")
    if any(address in network for network in PRIVATE_NETWORKS if network.version == address.version):
        return _("a private network address")
    if address.is_reserved or not address.is_global:
        # Documentation, benchmarking, Teredo, IPv4-compatible and other special ranges.
        return _("a reserved address")
    return None


def parse_networks(allowed_networks) -> Networks:
    return [ipaddress.ip_network(network, strict=False) for network in allowed_networks]


def is_allowed(address: IPAddress, networks: Networks) -> bool:
    """Explicitly allowed by the operator, as itself or as the IPv4 address it embeds."""
    embedded = embedded_ipv4(address)
    candidates = [address] + ([embedded[1]] if embedded else [])
    return any(
        candidate in network
        for candidate in candidates
        for network in networks
        if network.version == candidate.version
    )


def refusal(host: str, address: IPAddress, networks: Networks) -> str | None:
    """Why a workspace registry may not connect to ``address`` (``host`` resolved to it)."""
    if is_allowed(address, networks):
        return None
    kind = internal_kind(address)
    if kind is None:
        return None
    return _(
        "%(host)s resolves to %(address)s, %(kind)s, which workspace registries may not use. "
        "A platform operator can allow it with WHARF_ALLOWED_REGISTRY_NETWORKS."
    ) % {"host": host, "address": address, "kind": kind}


def policy(allowed_networks) -> AddressPolicy:
    """The address policy handed to the clients of workspace registries."""
    networks = parse_networks(allowed_networks)

    def check(host: str, address: IPAddress) -> str | None:
        return refusal(host, address, networks)

    return check


def refused_reason(url: str, allowed_networks, deadline: Deadline | None = None) -> str | None:
    """A sentence saying why ``url`` is refused, or None when it may be used."""
    parts = urlsplit(url)
    host = parts.hostname
    if not host:
        return _("The address has no host name.")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return _("The address has no valid port.")
    timeout = LOOKUP_TIMEOUT if deadline is None else max(0.0, min(LOOKUP_TIMEOUT, deadline.remaining()))
    try:
        addresses = resolve(host, port, timeout)
    except httpcore.ConnectTimeout:
        # Judged again on connecting, within the operation's deadline.
        return None
    except httpcore.ConnectError:
        return _("The host name %(host)s does not resolve.") % {"host": host}
    networks = parse_networks(allowed_networks)
    for address, _target in addresses:
        reason = refusal(host, address, networks)
        if reason:
            return reason
    return None

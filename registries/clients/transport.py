"""How registry clients open connections: resolve once, check, connect to what was checked.

httpx leaves name resolution to the socket library, after any check Wharf could make and again
for every connection, so a name that resolves to a public address for the check and to 127.0.0.1
for the connection (DNS rebinding) would get through. Here the network backend under httpx
resolves the name itself, asks the connection's address policy about every address, and connects
only to those addresses. TLS still verifies the certificate against the host name (SNI) and the
Host header is the URL's. Because the check sits under every connection, it covers every hop:
the first request, redirects httpx follows, token servers named in challenges, Link-header pages.

The same backend enforces the connection's deadline on the DNS lookup, the connect, the TLS
handshake and every read and write, so no server can stretch an operation past it (a redirect
loop, or an answer sent a byte at a time).

Registries are contacted directly: HTTP(S)_PROXY is not used, since the address that must be
checked is the registry's, not a proxy's.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Iterable
from typing import Any

import httpcore
import httpx

from .base import AddressPolicy, AddressRefused, Connection, Deadline, IPAddress

# httpx's defaults: a client talks to one registry, a few connections are plenty.
LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=20, keepalive_expiry=5.0)


def resolve(host: str, port: int, timeout: float | None) -> list[tuple[IPAddress, str]]:
    """Every address ``host`` resolves to, as (address to judge, address to connect to).

    The lookup runs in a thread so that it, too, ends within ``timeout``: ``getaddrinfo`` has no
    timeout of its own and a name server that never answers would hold the caller for the
    resolver's full retry cycle. A lookup that runs out of time is left to finish on its own.
    """
    literal = _literal(host)
    if literal is not None:
        return [(literal, host.strip("[]"))]
    found: dict[str, Any] = {}

    def lookup() -> None:
        try:
            found["infos"] = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError) as exc:
            found["error"] = exc

    thread = threading.Thread(target=lookup, name=f"resolve {host}", daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        raise httpcore.ConnectTimeout(f"looking up {host} took too long")
    if "error" in found:
        raise httpcore.ConnectError(f"the host name {host} does not resolve")
    addresses: list[tuple[IPAddress, str]] = []
    for _family, _type, _proto, _name, sockaddr in found["infos"]:
        target = str(sockaddr[0])
        address = ipaddress.ip_address(target.split("%")[0])
        if all(target != seen for _, seen in addresses):
            addresses.append((address, target))
    if not addresses:
        raise httpcore.ConnectError(f"the host name {host} does not resolve")
    return addresses


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]").split("%")[0])
    except ValueError:
        return None


def _limit(deadline: Deadline | None, timeout: float | None, expired: type[Exception]) -> float | None:
    """The timeout for one blocking step: the step's own, cut to what is left of the deadline."""
    if deadline is None:
        return timeout
    remaining = deadline.remaining()
    if remaining <= 0:
        raise expired("the time allowed for this operation has run out")
    return remaining if timeout is None else min(timeout, remaining)


class GuardedStream(httpcore.NetworkStream):
    """A socket stream whose every step ends by the deadline."""

    def __init__(self, stream: httpcore.NetworkStream, deadline: Deadline | None):
        self._stream = stream
        self._deadline = deadline

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, _limit(self._deadline, timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, _limit(self._deadline, timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        limit = _limit(self._deadline, timeout, httpcore.ConnectTimeout)
        return GuardedStream(self._stream.start_tls(ssl_context, server_hostname, limit), self._deadline)

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class GuardedBackend(httpcore.NetworkBackend):
    """httpcore's socket backend, with the address policy and the deadline in front of it."""

    def __init__(self, policy: AddressPolicy | None, deadline: Deadline | None):
        self._policy = policy
        self._deadline = deadline
        self._sockets = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        addresses = resolve(host, port, _limit(self._deadline, timeout, httpcore.ConnectTimeout))
        if self._policy is not None:
            # Every address, not just the one connected to: a name that mixes internal and
            # public addresses is refused as a whole, the same answer the form gave.
            for address, _target in addresses:
                reason = self._policy(host, address)
                if reason:
                    raise AddressRefused(reason, host=host)
        error: Exception | None = None
        for _address, target in addresses:
            try:
                stream = self._sockets.connect_tcp(
                    target,
                    port,
                    timeout=_limit(self._deadline, timeout, httpcore.ConnectTimeout),
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except httpcore.ConnectError as exc:
                error = exc
                continue
            return GuardedStream(stream, self._deadline)
        assert error is not None
        raise error

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        raise httpcore.ConnectError("registries are reached over TCP only")

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


class GuardedTransport(httpx.HTTPTransport):
    """httpx's own transport on the guarded backend; never through a proxy."""

    def __init__(self, connection: Connection, verify: ssl.SSLContext | bool):
        # Not super().__init__(): HTTPTransport offers no way to pass a network backend, so the
        # pool its methods use is built here as it would build it (httpx and httpcore pinned).
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(verify=verify),
            max_connections=LIMITS.max_connections,
            max_keepalive_connections=LIMITS.max_keepalive_connections,
            keepalive_expiry=LIMITS.keepalive_expiry,
            http1=True,
            http2=False,
            network_backend=GuardedBackend(connection.address_policy, connection.deadline),
        )

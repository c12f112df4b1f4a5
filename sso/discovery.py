"""The provider's metadata from ``<issuer>/.well-known/openid-configuration``, kept a while.

Read on first use, not at start: Wharf starts and serves local logins while the provider is
down, and a sign-in attempt then says so.
"""

import threading
import time
from dataclasses import dataclass

import httpx
from django.conf import settings

from sso.conf import PROVIDER_TIMEOUT, SIGNING_ALGORITHMS
from sso.errors import ProviderUnavailable, WrongIssuer

# Metadata changes rarely; keys (JWKS) are fetched separately and more often.
CACHE_SECONDS = 600


@dataclass(frozen=True)
class ProviderMetadata:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    userinfo_endpoint: str
    end_session_endpoint: str
    signing_algorithms: tuple[str, ...]


_lock = threading.Lock()
_cache: dict[str, tuple[float, ProviderMetadata]] = {}


def clear_cache() -> None:
    with _lock:
        _cache.clear()


def discovery_url(issuer: str) -> str:
    # OpenID Connect Discovery 1.0, section 4: drop a trailing "/" before appending.
    return issuer.rstrip("/") + "/.well-known/openid-configuration"


def metadata() -> ProviderMetadata:
    issuer = settings.WHARF_OIDC_ISSUER
    now = time.monotonic()
    with _lock:
        cached = _cache.get(issuer)
        if cached and now - cached[0] < CACHE_SECONDS:
            return cached[1]
    found = _fetch(issuer)
    with _lock:
        _cache[issuer] = (now, found)
    return found


def _url(data: dict, name: str, *, required: bool, url: str) -> str:
    value = data.get(name)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or not value.startswith(("https://", "http://")):
        raise ProviderUnavailable(f"discovery document at {url} has no usable {name}: {value!r}")
    return value


def _fetch(issuer: str) -> ProviderMetadata:
    url = discovery_url(issuer)
    try:
        response = httpx.get(url, timeout=PROVIDER_TIMEOUT, headers={"Accept": "application/json"})
    except httpx.HTTPError as error:
        raise ProviderUnavailable(f"discovery at {url} failed: {error.__class__.__name__}: {error}") from None
    if response.status_code != 200:
        raise ProviderUnavailable(f"discovery at {url} answered HTTP {response.status_code}")
    try:
        data = response.json()
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise ProviderUnavailable(f"discovery at {url} did not answer a JSON object")
    # Discovery section 4.3: the document must name exactly the issuer it was fetched for,
    # otherwise tokens from another issuer could be taken for this one's.
    if data.get("issuer") != issuer:
        raise WrongIssuer(
            f"discovery at {url} names issuer {data.get('issuer')!r}, but WHARF_OIDC_ISSUER is {issuer!r}"
        )
    algorithms = data.get("id_token_signing_alg_values_supported") or ["RS256"]
    usable = tuple(alg for alg in SIGNING_ALGORITHMS if alg in algorithms)
    if not usable:
        raise ProviderUnavailable(
            f"discovery at {url} offers no asymmetric ID token signature Wharf accepts: {algorithms!r}"
        )
    return ProviderMetadata(
        issuer=issuer,
        authorization_endpoint=_url(data, "authorization_endpoint", required=True, url=url),
        token_endpoint=_url(data, "token_endpoint", required=True, url=url),
        jwks_uri=_url(data, "jwks_uri", required=True, url=url),
        userinfo_endpoint=_url(data, "userinfo_endpoint", required=False, url=url),
        end_session_endpoint=_url(data, "end_session_endpoint", required=False, url=url),
        signing_algorithms=usable,
    )

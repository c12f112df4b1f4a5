"""Verifying the provider's JWTs (PyJWT): signature against the provider's keys, iss, aud, exp.

ID tokens (browser sign-in) and access tokens (REST API) go through ``decode``, so both refuse
the same things with the same reasons in the log.
"""

import threading

import jwt
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from sso import discovery
from sso.conf import CLOCK_LEEWAY, PROVIDER_TIMEOUT
from sso.errors import ProviderUnavailable, TokenRejected

REQUIRED_CLAIMS = ["exp", "iat", "iss", "aud", "sub"]
# Access tokens are checked on every API request, so the provider's keys are kept a while.
# A token signed by a key not yet seen (key rotation) makes one fresh fetch, at most this often.
JWKS_CACHE_SECONDS = 300
JWKS_REFRESH_COOLDOWN = 5


def unverified_claims(token: str) -> dict:
    """For log messages only: what the token says about itself before it is trusted."""
    try:
        return jwt.decode(token, options={"verify_signature": False})
    except jwt.InvalidTokenError:
        return {}


def header(token: str, *, kind: str, algorithms) -> dict:
    try:
        found = jwt.get_unverified_header(token)
    except jwt.InvalidTokenError as error:
        raise TokenRejected(f"{kind} is not a JWT: {error}") from None
    if found.get("alg") not in algorithms:
        raise TokenRejected(f"{kind} is signed with {found.get('alg')!r}; accepted: {', '.join(algorithms)}")
    return found


def decode(token: str, key, *, kind: str, algorithm: str, audience: str, issuer: str) -> dict:
    try:
        return jwt.decode(
            token,
            key,
            algorithms=[algorithm],
            audience=audience,
            issuer=issuer,
            leeway=CLOCK_LEEWAY,
            options={"require": REQUIRED_CLAIMS},
        )
    except jwt.InvalidSignatureError:
        reason = (
            f"{kind} signature does not verify with the provider's key {key_id(token)!r} (forged or altered)"
        )
    except jwt.ExpiredSignatureError:
        reason = f"{kind} expired (exp {unverified_claims(token).get('exp')!r})"
    except jwt.InvalidAudienceError:
        reason = f"{kind} is for audience {unverified_claims(token).get('aud')!r}, not {audience!r}"
    except jwt.InvalidIssuerError:
        reason = f"{kind} was issued by {unverified_claims(token).get('iss')!r}, not {issuer!r}"
    except jwt.MissingRequiredClaimError as error:
        reason = f"{kind} lacks the {error.claim!r} claim"
    except jwt.InvalidTokenError as error:
        reason = f"{kind} is invalid: {error.__class__.__name__}: {error}"
    raise TokenRejected(reason)


def key_id(token: str):
    try:
        return jwt.get_unverified_header(token).get("kid")
    except jwt.InvalidTokenError:
        return None


# -- access tokens for the REST API --------------------------------------------------------------

_clients_lock = threading.Lock()
_clients: dict[str, jwt.PyJWKClient] = {}


def clear_cache() -> None:
    with _clients_lock:
        _clients.clear()


def _jwks_client(uri: str) -> jwt.PyJWKClient:
    with _clients_lock:
        client = _clients.get(uri)
        if client is None:
            client = jwt.PyJWKClient(
                uri,
                lifespan=JWKS_CACHE_SECONDS,
                timeout=PROVIDER_TIMEOUT,
                cooldown_duration=JWKS_REFRESH_COOLDOWN,
            )
            _clients[uri] = client
        return client


def verify_access_token(token: str) -> dict:
    """The claims of a provider access token sent to the API, or TokenRejected / ProviderUnavailable."""
    provider = discovery.metadata()
    kind = "access token"
    alg = header(token, kind=kind, algorithms=provider.signing_algorithms)["alg"]
    try:
        key = _jwks_client(provider.jwks_uri).get_signing_key_from_jwt(token)
    except jwt.PyJWKClientConnectionError as error:
        raise ProviderUnavailable(f"keys at {provider.jwks_uri} could not be fetched: {error}") from None
    except jwt.PyJWTError as error:
        raise TokenRejected(
            f"{kind} is signed by key {key_id(token)!r}, which the provider does not "
            f"publish at {provider.jwks_uri}: {error}"
        ) from None
    claims = decode(
        token,
        key,
        kind=kind,
        algorithm=alg,
        audience=settings.WHARF_OIDC_API_AUDIENCE,
        issuer=provider.issuer,
    )
    # An ID token says who signed in to Wharf's client; it is not a grant to call the API, even
    # when the API's audience is that client (Keycloak marks ID tokens typ "ID", others carry a nonce).
    if claims.get("typ") == "ID" or "nonce" in claims:
        raise TokenRejected(
            f"{kind} is an ID token, not an access token",
            _("This is an ID token; send the provider's access token instead."),
        )
    return claims

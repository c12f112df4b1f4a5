"""Wharf as the Docker token server of distribution registries (design section 5).

A registry configured with ``auth.token`` sends clients to ``GET /auth/token?service=&scope=``
(views.py). Wharf parses what the client asks for (scopes.py), finds the registry the
``service`` names (service.py), authenticates the client (principals.py), intersects what it
asked for with what the access rule (registries/access.py) allows at this moment (grant.py),
and answers with an ES256 JWT the registry verifies against Wharf's certificate (keys.py).
Workspace pull credentials are minted and rotated in credentials.py; errors.py holds the
refusals of a whole request.

The hot path (a workspace credential pulling) costs two queries: the registry with the
credential and its active signing key's id, then the spaces the access rule allows. Both are
compiled once per process (compiled.py).

The names below are the package's interface; the rest of Wharf imports them from here. The
grant is ``registries.tokens.grant.grant``: exported here, the function would hide its module
(``import registries.tokens.grant`` would then give the function). views.py is not imported
here (urls.py imports it), so using the token service's functions does not load its endpoints.
"""

from registries.tokens.credentials import (
    CREDENTIAL_PREFIX,
    LOGIN_PREFIX,
    credential_username,
    ensure_credentials,
    hash_secret,
    mint_workspace_credential,
    rotate_credential,
)
from registries.tokens.errors import InvalidRequest, NoSigningKey, TokenError, UnknownService
from registries.tokens.keys import (
    MAX_LIFETIME,
    active_signing_key,
    certificate_bundle,
    create_signing_key,
    issue_token,
    keys_of,
    prune_retired_keys,
    rotate_signing_key,
    token_lifetime,
)
from registries.tokens.principals import ANONYMOUS, Principal, authenticate
from registries.tokens.scopes import MAX_SCOPES, Scope, parse_scopes
from registries.tokens.service import bundle_registry, token_registry

__all__ = [
    "ANONYMOUS",
    "CREDENTIAL_PREFIX",
    "LOGIN_PREFIX",
    "MAX_LIFETIME",
    "MAX_SCOPES",
    "InvalidRequest",
    "NoSigningKey",
    "Principal",
    "Scope",
    "TokenError",
    "UnknownService",
    "active_signing_key",
    "authenticate",
    "bundle_registry",
    "certificate_bundle",
    "create_signing_key",
    "credential_username",
    "ensure_credentials",
    "hash_secret",
    "issue_token",
    "keys_of",
    "mint_workspace_credential",
    "parse_scopes",
    "prune_retired_keys",
    "rotate_credential",
    "rotate_signing_key",
    "token_lifetime",
    "token_registry",
]

"""OpenID Connect settings: checks used by portal/settings.py and readers used at run time.

The functions at the top import nothing from Django's settings, so portal/settings.py can call
them while it is still being read.
"""

import re
from urllib.parse import urlsplit

# Seconds for each call to the identity provider (discovery, token, userinfo, JWKS).
PROVIDER_TIMEOUT = 10
# Seconds of clock difference tolerated between Wharf and the provider on exp/iat/nbf.
CLOCK_LEEWAY = 30
# Only asymmetric signatures: an ID token signed with the client secret (HS*) or unsigned
# ("none") would let anyone who knows the secret, or no one at all, vouch for a person.
SIGNING_ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"]

# portal.permissions' workspace roles; spelled out because this module must not import Django
# models (tests/test_conf.py keeps the two lists equal).
ROLES_STRONGEST_FIRST = ["admin", "editor", "viewer"]
# Workspace names are DNS labels (portal/validators.py).
_WORKSPACE = r"(?P<workspace>[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?)"
_ROLE = "(?P<role>" + "|".join(ROLES_STRONGEST_FIRST) + ")"


def workspace_group_regex(pattern: str) -> re.Pattern:
    """``wharf:{workspace}:{role}`` -> a regular expression matching whole group names.

    Raises ValueError when the pattern lacks a placeholder or names one twice.
    """
    for placeholder in ("{workspace}", "{role}"):
        if pattern.count(placeholder) != 1:
            raise ValueError(f"the pattern must contain {placeholder} exactly once; got {pattern!r}")
    escaped = re.escape(pattern)
    regex = escaped.replace(re.escape("{workspace}"), _WORKSPACE).replace(re.escape("{role}"), _ROLE)
    return re.compile(regex)


def origin(url: str) -> str:
    """``https://sso.example.com/realms/dce`` -> ``https://sso.example.com``."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def check_issuer(issuer: str) -> None:
    parts = urlsplit(issuer)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise ValueError(f"the issuer must be an http(s) URL without query or fragment; got {issuer!r}")


# -- at run time ---------------------------------------------------------------------------------


def enabled() -> bool:
    from django.conf import settings

    return bool(getattr(settings, "WHARF_OIDC_ISSUER", ""))


def provider_name() -> str:
    from django.conf import settings

    return settings.WHARF_OIDC_PROVIDER_NAME


def mozilla_setting(attr: str, *default):
    """The settings mozilla-django-oidc asks for, derived from the WHARF_OIDC_* ones.

    One source of truth: tests and operators set WHARF_OIDC_*, never OIDC_* as well.
    """
    from django.conf import settings
    from mozilla_django_oidc.utils import import_from_settings

    values = {
        "OIDC_RP_CLIENT_ID": settings.WHARF_OIDC_CLIENT_ID,
        "OIDC_RP_CLIENT_SECRET": settings.WHARF_OIDC_CLIENT_SECRET,
        "OIDC_RP_SCOPES": settings.WHARF_OIDC_SCOPES,
        "OIDC_RP_SIGN_ALGO": "RS256",
        "OIDC_USE_PKCE": True,
        "OIDC_PKCE_CODE_CHALLENGE_METHOD": "S256",
        "OIDC_USE_NONCE": True,
        # The ID token is the id_token_hint of RP-initiated logout.
        "OIDC_STORE_ID_TOKEN": True,
        "OIDC_STORE_ACCESS_TOKEN": False,
        "OIDC_TOKEN_USE_BASIC_AUTH": True,
        "OIDC_TIMEOUT": PROVIDER_TIMEOUT,
        "OIDC_VERIFY_SSL": True,
        "OIDC_CREATE_USER": True,
        "OIDC_AUTHENTICATION_CALLBACK_URL": "sso:callback",
        "OIDC_REDIRECT_FIELD_NAME": "next",
        "OIDC_ALLOW_UNSECURED_JWT": False,
    }
    if attr in values:
        return values[attr]
    return import_from_settings(attr, *default)
